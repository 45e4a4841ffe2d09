"""The protected reporting channel: anonymous encrypted intake, two-way messages, statutory case handling."""
