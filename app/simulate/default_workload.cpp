// The default workload of `rros simulate`, compiled into the program so that
// `rros simulate` works from any directory: a copy of
// config/workloads/default.json. Keep both identical: tests/test_program.cpp
// compares them (`rros simulate --print-workload` against the file).
#include "app/simulate/workload.hpp"

namespace rros::app {

const std::string& default_workload_json() {
  static const std::string text = R"rros_workload({
  "name": "default",
  "description": "A cognitive stack for five minutes: perception, reasoning, memory consolidation, a background indexer and a telemetry uplink share the five budgets; vision bursts at 120 s, audio dies at 180 s and reasoning at 230 s.",
  "duration": 300,
  "seed": 42,
  "config": {
    "computational_capacity": 100,
    "memory_capacity": 1048576,
    "attention_capacity": 1,
    "io_capacity": 100,
    "network_capacity": 100,
    "alert_threshold": 0.85
  },
  "monitor": {
    "degrade_enter": 0.95,
    "degrade_exit": 0.7,
    "degrade_after": 2,
    "recover_after": 1,
    "escalate_after": 30
  },
  "forecast": { "every": 10, "horizon": 5 },
  "modules": [
    {
      "name": "vision",
      "description": "object detection on camera frames",
      "priority": "HIGH",
      "rate": 6,
      "demand": { "computational": [3, 6] },
      "hold": [0.5, 1.5],
      "deadline": 0.3,
      "bursts": [ { "at": 120, "length": 25, "factor": 3 } ]
    },
    {
      "name": "audio",
      "description": "speech front end: features and keyword spotting",
      "priority": "NORMAL",
      "rate": 5,
      "demand": { "computational": [2, 4], "io": [1, 3] },
      "hold": [0.4, 1.0],
      "deadline": 0.2,
      "deaths": [ { "at": 180, "restart_after": 8 } ]
    },
    {
      "name": "reasoning",
      "description": "planner episodes needing compute, working memory and attention together",
      "priority": "NORMAL",
      "rate": 0.6,
      "demand": { "computational": [8, 15], "memory": [32768, 131072], "attention": [0.1, 0.25] },
      "hold": [2, 5],
      "deadline": 2,
      "deaths": [ { "at": 230, "restart_after": 15 } ]
    },
    {
      "name": "consolidation",
      "description": "memory consolidation: long, preemptable batches with a lease time-to-live",
      "priority": "LOW",
      "rate": 0.3,
      "demand": { "memory": [131072, 262144], "io": [5, 15] },
      "hold": [5, 12],
      "ttl": 10,
      "preemptable": true
    },
    {
      "name": "indexer",
      "description": "background indexer: takes what is free, gives way to everybody",
      "priority": "IDLE",
      "rate": 2,
      "demand": { "computational": [5, 10] },
      "hold": [1, 3],
      "preemptable": true
    },
    {
      "name": "attention",
      "description": "salience tracking holding slices of attention",
      "priority": "HIGH",
      "rate": 2,
      "demand": { "attention": [0.05, 0.15] },
      "hold": [0.5, 2],
      "deadline": 0.5
    },
    {
      "name": "uplink",
      "description": "telemetry uplink",
      "priority": "NORMAL",
      "rate": 1,
      "demand": { "network": [10, 30] },
      "hold": [1, 4],
      "deadline": 1
    },
    {
      "name": "safety",
      "description": "safety monitor: small, rare and never refused",
      "priority": "CRITICAL",
      "rate": 0.5,
      "demand": { "computational": [5, 10] },
      "hold": [0.5, 1],
      "deadline": 0.1
    }
  ]
}
)rros_workload";
  return text;
}

} // namespace rros::app
