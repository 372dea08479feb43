"""C9 分析与决策支持: statistical layouts reshaped to long form, indicator formulas, forecasts, early warning."""
