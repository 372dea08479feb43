"""Settings read from ``SHUDATA_*`` environment variables (pydantic-settings).

Nothing is built at import time: call :func:`get_settings` (cached) or construct
:class:`Settings` directly in tests.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "shudata-dev-secret-change-me"
DEV_MASTER_KEY = "00112233445566778899aabbccddeeff"
# Read as missing (NULL) on ingest; compared trimmed, NFKC (full-width forms too), case-folded.
MISSING_VALUES_DEFAULT: tuple[str, ...] = (
    "N/A", "NA", "#N/A", "NULL", "None", "nan", "#NULL!", "(null)", "<NA>", "-", "--", "—", "——", "–", "/", "\\",
    "无", "空", "暂无", "（空）",
)


class Settings(BaseSettings):
    """All configuration of one platform node. Every field is documented in README."""

    model_config = SettingsConfigDict(env_prefix="SHUDATA_", extra="ignore")

    env: Literal["dev", "test", "prod"] = Field("dev", description="运行环境 dev/test/prod")
    data_dir: Path = Field(Path("shudata-data"), description="数据目录：元数据库、数据湖、日志")
    database_url: str | None = Field(None, description="元数据库 URL；默认数据目录中的 SQLite")
    secret_key: str = Field(DEV_SECRET, description="会话签名与 CSRF 密钥")
    master_key: str = Field(DEV_MASTER_KEY, description="SM4 主密钥（32 位十六进制），包裹数据密钥")
    max_upload_mb: int = Field(1024, ge=1, description="单个上传文件大小上限 (MB)")
    upload_max_columns: int = Field(1000, ge=1, description="上传文件的列数上限（超出返回 413）")
    upload_max_cells: int = Field(2_000_000, ge=1,
                                  description="XLSX/XLS/JSON 上传的单元格（行×列）上限；这些格式整表读入内存")
    upload_max_unzipped_mb: int = Field(256, ge=1, description="XLSX 解压后总大小上限 (MB)")
    upload_max_zip_ratio: int = Field(100, ge=2, description="XLSX 压缩比上限（解压后 ÷ 压缩后），防压缩炸弹")
    upload_max_json_depth: int = Field(32, ge=2, le=500, description="JSON 上传的嵌套层数上限")
    upload_max_name_chars: int = Field(255, ge=16, description="上传文件列名（表头单元格）的长度上限（字符）")
    ingest_missing_values: tuple[str, ...] = Field(
        MISSING_VALUES_DEFAULT, max_length=200,
        description="入库时读作缺失值（NULL）的占位符（JSON 数组；不分大小写与全半角，整格匹配）；条目可保存自己的列表")
    profile_max_columns: int = Field(100, ge=1, description="文件剖析（/quality/profile）的列数上限")
    quality_suggest_enum_max: int = Field(
        100, ge=1, le=10_000,
        description="建议规则：不同取值不超过此数（且平均每个取值至少出现 10 次）的文本列建议代码表（enum）规则")
    query_timeout_s: float = Field(30.0, gt=0, description="SQL 沙箱单条语句时间上限 (秒)")
    query_max_rows: int = Field(100_000, ge=1, description="SQL 沙箱单次结果行数上限")
    page_size_max: int = Field(1000, ge=1, description="分页接口每页最大行数")
    datastore_rows_max: int = Field(
        32_000, ge=1, description="CKAN 数据接口（datastore_search、datastore_search_sql）一次最多返回的行数"
                                  "（同 CKAN 的 ckan.datastore.search.rows_max）；更大的 limit 按此返回并在答复中说明")
    result_max_bytes: int = Field(
        32 << 20, ge=1024, description="一页 JSON 结果（SQL 查询、CKAN 数据接口、共享接口）字节上限；超出则截短并注明")
    download_max_bytes: int = Field(
        1 << 30, ge=1024, description="一次查询结果下载（CSV/XLSX/Parquet）的字节上限；超出返回 413")
    default_language: Literal["zh-CN", "en"] = Field("zh-CN", description="默认界面语言")
    timezone: str = Field("Asia/Shanghai", min_length=1,
                          description="页面、导出与报告显示时间的时区（IANA 名称）；存储一律为 UTC")
    node_code: str = Field("510000", description="本节点代码（行政区划代码）")
    redis_url: str | None = Field(None, description="Redis URL（限流等，可选）")
    session_max_age_s: int = Field(8 * 3600, ge=60, description="网页登录会话有效期 (秒)")
    password_min_length: int = Field(10, ge=8, le=64, description="密码最短长度（GB/T 39786 三级：不少于 8 位）")
    login_max_failures: int = Field(5, ge=1, description="同一账号连续登录失败多少次后锁定")
    login_ip_max_failures: int = Field(20, ge=1, description="同一 IP 地址连续登录失败多少次后禁止登录")
    login_lockout_s: int = Field(60, ge=1, description="首次锁定时长 (秒)；此后每次锁定时长加倍")
    login_lockout_max_s: int = Field(3600, ge=1, description="锁定时长上限 (秒)")
    sharing_deadline_days: int = Field(10, ge=1, le=60, description="有条件共享的答复时限（工作日）")
    sharing_default_profile: str = Field("share-conditional", description="共享授权默认脱敏策略")
    sharing_webhook_url: str | None = Field(None, description="共享流程通知的 Webhook 地址（可选，SM2 签名推送）")
    sharing_cleanup_s: int = Field(
        900, ge=10, le=3600, description="已撤销、到期或删除的共享授权与已终止的交易交付授权，其备好的文件"
                                         "（Delta Sharing、下载文件）在此间隔内删除 (秒)；serve 启动时及每隔此时长清理")
    analysis_min_group: int = Field(
        5, ge=2, le=100_000, description="发布范围超出本部门的 SQL 指标，每个值至少汇总的记录数（最小分组规模 k）")
    analysis_webhook_allow_private: bool = Field(
        False, description="预警 Webhook 允许推送到内网、回环或保留地址（默认禁止，防 SSRF）")
    delta_sharing_page_size: int = Field(100, ge=1, le=10_000,
                                         description="Delta Sharing 列表接口（共享、模式、表）每页最多条目数；"
                                                     "maxResults 更大时按此返回并给出 nextPageToken")
    market_document_max_mb: int = Field(20, ge=1, le=200, description="数据交易：单个资质文件大小上限 (MB)")
    market_fee_exchange_bp: int = Field(
        300, ge=0, le=5000, description="数据交易：交易所服务费率（基点，300 = 成交价的 3%），结算时从托管资金中扣除")
    market_fee_broker_bp: int = Field(
        100, ge=0, le=5000, description="数据交易：数商（中介）服务费率（基点），订单有中介数商时扣除")
    market_accept_days: int = Field(5, ge=1, le=60,
                                    description="数据交易：交付后买方验收时限（工作日），期满未提出争议即自动验收")
    market_contract_sign_days: int = Field(10, ge=1, le=90,
                                           description="数据交易：合同生成后各方签署并托管资金的时限（日），逾期合同失效")
    market_ledger_checkpoint_every: int = Field(
        1000, ge=1, le=1_000_000,
        description="数据交易存证账本：每多少条记录由交易所用 SM2 签署一次链头（检查点）")
    market_rights_notice_days: int = Field(10, ge=1, le=60,
                                           description="数据确权登记的公示期（工作日），期内可提出异议")
    market_derivative_max_risk: float = Field(
        0.2, gt=0, le=1, description="数据交易：含个人信息的脱敏衍生产品挂牌时允许的最高重识别风险"
                                     "（检察官模型最大风险，0.2 相当于 k=5）")
    scorecard_weights: str | None = Field(
        None, description="评估考核各指标权重（JSON 对象，六项：completeness 目录完整性、freshness 数据时效、"
                          "responsiveness 共享响应、quality 数据质量、openness 开放程度、demand 需求满足；"
                          "不小于 0 的数，按比例折算为 100 分）；空：20/20/20/15/15/10")
    duckdb_threads: int = Field(2, ge=1, description="DuckDB 线程数")
    duckdb_memory_limit: str = Field("2GB", description="DuckDB 内存上限")
    engine: Literal["duckdb", "spark"] = Field(
        "duckdb", description="默认执行引擎：duckdb（进程内）或 spark（所有沙箱查询、质量检查、脱敏导出"
                              "都在 Spark 上运行）")
    spark_master: str = Field(
        "local[2]", description="Spark 运行位置：local[N]、独立集群 spark://主机:7077、Spark Connect sc://主机:15002、"
                                "yarn 或 k8s://https://…（见 docs/scale-out.md）")
    spark_resources: str | None = Field(
        None, description="即使默认引擎为 duckdb 也在 Spark 上运行的资源代码（逗号分隔）")
    spark_route_min_mb: int | None = Field(
        None, ge=1, description="数据版本不小于此大小 (MB) 的资源在 Spark 上运行（空：不按大小切换）")
    spark_conf: str | None = Field(
        None, description="附加 Spark 配置（spark.键=值，分号分隔），如执行器内存、S3/HDFS 访问参数")
    spark_lake_uri: str | None = Field(
        None, description="Spark 执行节点看到的数据湖根地址（file:///共享路径、hdfs://…、s3a://…）；默认本机数据湖路径")
    portal_rate_ip_per_min: int = Field(300, ge=0, description="开放门户：每个 IP 每分钟请求上限（0 不限）")
    portal_rate_key_per_min: int = Field(1200, ge=0, description="开放门户：每个 API 密钥每分钟请求上限（0 不限）")
    portal_rate_exempt_keys: str | None = Field(
        None, description="开放门户：不受频率限制的开发者 API 密钥，填其公开标签“sdk_前缀”（开发者页面所示，逗号分隔；"
                          "只填标签，绝不填密钥本身），用于获准的采集方（如 CKAN 采集器）")
    portal_base_url: str | None = Field(
        None, description="开放门户对外地址（DCAT、站点地图中的绝对链接；默认取请求地址）")
    max_concurrency: int = Field(8, ge=1, le=1000,
                                 description="同时处理的请求上限；超出的请求排队，排队超时返回 503（健康检查除外）")
    queue_timeout_s: float = Field(0.5, ge=0, le=60,
                                   description="请求排队等待处理的最长时间 (秒)；预计等不到的请求到达时即返回 503 与 "
                                               "Retry-After，排队超时亦然")
    shutdown_timeout_s: float = Field(8.0, gt=0, le=60,
                                      description="收到 SIGTERM 后等待进行中请求完成的最长时间 (秒)，到时强制退出")
    workers: int = Field(1, ge=1, le=64,
                         description="`shudata serve` 的工作进程数（共用一个端口）；多核机器上可设为核数，"
                                     "并发上限按每个进程计")
    tracemalloc_s: float = Field(0, ge=0, le=3600,
                                 description="内存诊断：每隔多少秒在日志中列出 Python 分配增长最多的代码行、"
                                             "glibc 在用内存与垃圾回收耗时（0 关闭；会拖慢服务）")
    db_pool_size: int | None = Field(None, ge=1, le=1000,
                                     description="元数据库连接池大小；默认为并发上限加 8")

    @model_validator(mode="after")
    def _refuse_unsafe_defaults(self) -> Settings:
        if self.env == "prod":
            if self.secret_key == DEV_SECRET:
                raise ValueError("SHUDATA_SECRET_KEY must be set in prod (生产环境必须设置会话密钥)")
            if self.master_key == DEV_MASTER_KEY:
                raise ValueError("SHUDATA_MASTER_KEY must be set in prod (生产环境必须设置主密钥)")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"SHUDATA_TIMEZONE: unknown time zone {self.timezone!r} (未知时区，请用 IANA 名称，"
                             "如 Asia/Shanghai)") from exc
        if len(bytes.fromhex(self.master_key)) != 16:
            raise ValueError("SHUDATA_MASTER_KEY must be 32 hex digits (128-bit SM4 key)")
        return self

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'meta.db').resolve()}"

    @property
    def lake_dir(self) -> Path:
        return self.data_dir / "lake"

    @property
    def resolved_db_pool_size(self) -> int:
        """Connections kept by the metadata-store pool: one per request in progress, plus a few
        for the background work (token bookkeeping, audit of refusals, masked-file preparation)."""
        return self.db_pool_size or self.max_concurrency + 8

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
