"""Listing gateway: issuer profiles, eligibility (Main Board, 18C, 18A, WVR), the application workflow."""
