"""Discovery endpoints: ad accounts, campaign groups, campaigns, creatives."""
