"""Tests of the streaming worker."""
