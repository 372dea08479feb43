"""Permission actions of the dashboards and the assessment scorecard, gathered by ``shudata.permissions``."""
