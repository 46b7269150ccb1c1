"""Slot extraction latency (dialog hot path): p50/p95 per utterance. Last line: JSON."""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dialog.slots import extract_slots  # noqa: E402

UTTERANCES = [
    "我要取五万", "存两万块钱到定期", "转1.5万给我妈", "换点美元，今天汇率多少",
    "I want to withdraw two thousand five hundred dollars", "can I take out 3000 dollars",
    "my ticket is A023, is it called yet", "我手机号13812345678要换一下",
    "卡号6222 0212 3456 7890 123丢了", "open a savings account with $500", "你好", "谢谢再见",
]


def main() -> None:
    for text in UTTERANCES:  # warm-up (imports, regex compilation)
        extract_slots(text)
    times = []
    for _ in range(200):
        for text in UTTERANCES:
            t0 = time.perf_counter()
            extract_slots(text)
            times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    result = {"bench": "slots", "utterances": len(times),
              "p50_ms": round(statistics.median(times), 3),
              "p95_ms": round(times[int(0.95 * (len(times) - 1))], 3)}
    print(f"slot extraction: p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
