"""The image work of the processing service: validate, render, watermark, encode, describe (no AWS in here).

Every module takes and returns bytes, Pillow images or dataclasses, so it is tested without any AWS fakes.
"""
