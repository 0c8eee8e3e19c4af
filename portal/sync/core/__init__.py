"""What every sync (calendar, contacts) shares: the three-way merge of field groups and its
conflict rules, the remembered base, run bookkeeping, per-account pacing."""
