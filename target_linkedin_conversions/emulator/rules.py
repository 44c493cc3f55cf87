"""Conversion rules (/rest/conversions) and campaign associations (/rest/campaignConversions)."""
