"""The processing service: turns an uploaded original into validated, resized, watermarked renditions."""
