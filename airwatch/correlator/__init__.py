"""Tracks, classification and alert rules: contacts in, tracks and alerts out."""
