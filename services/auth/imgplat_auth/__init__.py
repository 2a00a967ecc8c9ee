"""The auth service: sign-up, verification, sign-in, tokens and password reset on the platform's Cognito user pool."""
