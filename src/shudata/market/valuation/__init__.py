"""数据资产评估 / data asset valuation after 中评协〔2023〕17号《数据资产评估指导意见》: the cost,
income and market approaches as pure functions, and the advisory report (PDF) keeping every input."""
