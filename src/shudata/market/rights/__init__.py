"""确权登记 / rights registration: the three rights of 数据二十条 (数据资源持有权, 数据加工使用权,
数据产品经营权) × 首次, 许可, 转移, 变更, 注销, 撤销, 异议 registrations, with compliance review, public notice
(公示) with objections, SM2-signed certificates verifiable on a public page, and licences issued by
purchases of 数据加工使用权."""
