"""Entities across sources: FollowTheMoney import and export, names across scripts, entity resolution, screening."""
