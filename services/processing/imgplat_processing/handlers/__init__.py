"""One module per Lambda function: parse the event, call one logic function, return its result."""
