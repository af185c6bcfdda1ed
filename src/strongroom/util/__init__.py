"""Small pure helpers: durations, clock, identifiers, paths, policy names. Bottom layer: stdlib only."""
