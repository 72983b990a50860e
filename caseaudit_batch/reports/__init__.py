"""The month's reports: data loading, Excel, Word, charts and learning themes (all figures from ``metrics``)."""
