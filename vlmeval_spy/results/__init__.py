"""From verdicts to numbers: records, metrics (docs/specification.md §5), bootstrap intervals,
reports and plots, the overall score, the leaderboard with each run's attempt record, exports in
the original format, judge agreement, and prediction files read cell for cell."""
