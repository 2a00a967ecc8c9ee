"""One module per Lambda function: parse the request, call the logic, answer."""
