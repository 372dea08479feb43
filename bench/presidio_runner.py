"""Runs inside bench/.venv-presidio (never in the project venv): mask a CSV sample with
Presidio in two configurations and print one JSON object with rows per second.

* ``structured`` — presidio-structured: detection on a 100-row sample (PandasAnalysisBuilder),
  then its operators over the DataFrame (its fastest configuration for tables);
* ``rows`` — per row and per cell: AnalyzerEngine.analyze + AnonymizerEngine.anonymize.

No model is downloaded: the NLP engine is a no-op and only pattern recognisers are used.
Usage: bench/.venv-presidio/bin/python bench/presidio_runner.py SAMPLE.csv ROWS_FOR_PER_ROW
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from typing import Any

import pandas as pd
from presidio_analyzer import AnalyzerEngine, Pattern, PatternRecognizer, RecognizerRegistry
from presidio_analyzer.nlp_engine import NlpArtifacts, NlpEngine
from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import OperatorConfig
from presidio_structured import PandasAnalysisBuilder, StructuredEngine
from presidio_structured.config import StructuredAnalysis
from presidio_structured.data import PandasDataProcessor


class NoOpNlpEngine(NlpEngine):
    """An NLP engine that does nothing (no spaCy model needed)."""

    def load(self) -> None:
        pass

    def is_loaded(self) -> bool:
        return True

    def process_text(self, text: str, language: str) -> NlpArtifacts:
        return NlpArtifacts(entities=[], tokens=[], tokens_indices=[], lemmas=[], nlp_engine=self, language=language)

    def process_batch(self, texts: Any, language: str, batch_size: int = 1, n_process: int = 1,
                      **kwargs: Any) -> Iterator[tuple[str, NlpArtifacts]]:
        for t in texts:
            yield t, self.process_text(t, language)

    def is_stopword(self, word: str, language: str) -> bool:
        return False

    def is_punct(self, word: str, language: str) -> bool:
        return False

    def get_supported_entities(self) -> list[str]:
        return []

    def get_supported_languages(self) -> list[str]:
        return ["zh"]


PATTERNS = {
    "CN_RESIDENT_ID": r"\b\d{17}[\dX]\b", "CN_MOBILE": r"\b1[3-9]\d{9}\b", "BANK_CARD": r"\b62\d{17}\b",
    "PERSON_NAME": r"^[\u4e00-\u9fff]{2,4}$", "ADDRESS": r"^四川省.+$", "DATE_OF_BIRTH": r"^\d{4}-\d{2}-\d{2}$",
    "INCOME": r"^\d+(\.\d+)?$", "REGION_CODE": r"^51\d{4}$",
}
COLUMNS = {"姓名": "PERSON_NAME", "身份证号": "CN_RESIDENT_ID", "手机号": "CN_MOBILE", "银行卡号": "BANK_CARD",
           "地址": "ADDRESS", "出生日期": "DATE_OF_BIRTH", "收入": "INCOME", "区划代码": "REGION_CODE"}


def bucket(x: str) -> str:
    v = float(x)
    for b, label in ((3000, "<3000"), (5000, "3000-5000"), (8000, "5000-8000"), (15000, "8000-15000")):
        if v < b:
            return label
    return ">=15000"


OPERATORS = {
    "PERSON_NAME": OperatorConfig("mask", {"masking_char": "*", "chars_to_mask": 3, "from_end": True}),
    "CN_RESIDENT_ID": OperatorConfig("custom", {"lambda": lambda x: x[:6] + "*" * 8 + x[-4:]}),
    "CN_MOBILE": OperatorConfig("custom", {"lambda": lambda x: x[:3] + "****" + x[-4:]}),
    "BANK_CARD": OperatorConfig("custom", {"lambda": lambda x: x[:6] + "*" * (len(x) - 10) + x[-4:]}),
    "ADDRESS": OperatorConfig("custom", {"lambda": lambda x: x[:6] + "*" * max(len(x) - 6, 0)}),
    "DATE_OF_BIRTH": OperatorConfig("custom", {"lambda": lambda x: x[:4]}),
    "INCOME": OperatorConfig("custom", {"lambda": bucket}),
    "REGION_CODE": OperatorConfig("custom", {"lambda": lambda x: x[:4] + "00"}),
}


def analyzer() -> AnalyzerEngine:
    registry = RecognizerRegistry(supported_languages=["zh"])
    for entity, pattern in PATTERNS.items():
        registry.add_recognizer(PatternRecognizer(supported_entity=entity, supported_language="zh",
                                                  patterns=[Pattern(entity, pattern, 0.9)]))
    return AnalyzerEngine(registry=registry, nlp_engine=NoOpNlpEngine(), supported_languages=["zh"])


def structured(df: pd.DataFrame, engine: AnalyzerEngine) -> float:
    t0 = time.perf_counter()
    analysis = PandasAnalysisBuilder(analyzer=engine).generate_analysis(df.head(100), language="zh")
    mapping = {c: COLUMNS[c] for c in df.columns}  # the sample finds most; pin the rest explicitly
    mapping.update(analysis.entity_mapping)
    out = StructuredEngine(data_processor=PandasDataProcessor()).anonymize(
        df, StructuredAnalysis(entity_mapping=mapping), operators=OPERATORS)
    dt = time.perf_counter() - t0
    assert len(out) == len(df)
    return len(df) / dt


def rows(df: pd.DataFrame, engine: AnalyzerEngine, n: int) -> float:
    anon = AnonymizerEngine()
    sample = df.head(n)
    t0 = time.perf_counter()
    for record in sample.itertuples(index=False):
        for value in record:
            text = str(value)
            found = engine.analyze(text=text, language="zh")
            anon.anonymize(text=text, analyzer_results=found, operators=OPERATORS)
    return len(sample) / (time.perf_counter() - t0)


def main() -> None:
    df = pd.read_csv(sys.argv[1], dtype=str)
    engine = analyzer()
    print(json.dumps({"structured_rows_per_s": structured(df, engine),
                      "rows_rows_per_s": rows(df, engine, int(sys.argv[2])), "sample_rows": len(df)}))


if __name__ == "__main__":
    main()
