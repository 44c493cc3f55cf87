"""Singer target (and discovery tap) for LinkedIn's Conversions API."""
