"""Small pure helpers: durations, clock, identifiers, paths. Bottom layer: stdlib only."""
