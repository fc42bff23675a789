#include "arlt/tools/python_tool.h"

#include <csignal>
#include <cstdio>

#include "arlt/base/text.h"

namespace arlt::tools {
namespace {

std::string join(const std::vector<std::string>& parts) {
  std::string s;
  for (const auto& p : parts) s += (s.empty() ? "" : "\n") + p;
  return s;
}

// Runs main.py as VerlTool's tool does, so that tracebacks name "main.py" (python3 main.py would
// name "/tmp/main.py") and show no frame of the launcher itself.
constexpr const char* kLauncher =
    "import sys, traceback\n"
    "src = open('main.py').read()\n"
    "g = {'__name__': '__main__', '__file__': 'main.py', '__builtins__': __builtins__}\n"
    "try:\n"
    "    exec(compile(src, 'main.py', 'exec'), g)\n"
    "except SystemExit:\n"
    "    raise\n"
    "except SyntaxError as e:\n"
    "    traceback.print_exception(type(e), e, None)\n"
    "    sys.exit(1)\n"
    "except BaseException as e:\n"
    "    traceback.print_exception(type(e), e, e.__traceback__.tb_next)\n"
    "    sys.exit(1)\n";

}  // namespace

bool parse_python_action(const std::string& action, PythonCall* call) {
  auto tagged = tagged_blocks(action, "<python>", "</python>");
  if (!tagged.empty()) {
    call->code = join(tagged);
    call->fenced = false;
    return true;
  }
  auto fenced = tagged_blocks(action, "```python", "```");
  if (fenced.empty()) return false;
  call->code = join(fenced);
  call->fenced = true;
  return true;
}

const std::string& PythonTool::prelude() {
  static const std::string p = [] {
    std::string s =
        "# arlt python tool prelude: the names VerlTool's python_code tool pre-imports, padded to its\n"
        "# length so that the model's line 1 is main.py line 82, as there.\n"
        "import math\n"
        "import cmath\n"
        "import re\n"
        "import json\n"
        "import random\n"
        "import string\n"
        "import itertools\n"
        "import functools\n"
        "import collections\n"
        "import heapq\n"
        "import bisect\n"
        "import operator\n"
        "import statistics\n"
        "import fractions\n"
        "import decimal\n"
        "import datetime\n"
        "import time\n"
        "import sys\n"
        "import copy\n"
        "import typing\n"
        "from math import sqrt, pi, e, inf, nan, gcd, factorial, comb, perm, log, log2, log10, exp, floor, ceil\n"
        "from math import sin, cos, tan, asin, acos, atan, atan2, hypot, isqrt, prod, fsum, isclose, radians, degrees\n"
        "from collections import Counter, defaultdict, deque, OrderedDict, namedtuple\n"
        "from itertools import permutations, combinations, combinations_with_replacement, product, accumulate\n"
        "from itertools import chain, count, cycle, groupby, islice, repeat, starmap, zip_longest\n"
        "from functools import reduce, lru_cache, cache, partial, cmp_to_key\n"
        "from fractions import Fraction\n"
        "from decimal import Decimal, getcontext\n"
        "from heapq import heappush, heappop, heapify, nlargest, nsmallest\n"
        "from bisect import bisect_left, bisect_right, insort\n"
        "from typing import List, Dict, Tuple, Set, Optional, Any\n"
        "from statistics import mean, median, mode, stdev, variance\n"
        "sys.setrecursionlimit(10000)\n";
    for (int i = 0; i < 46; ++i) s += "#\n";  // to VerlTool's 81 lines
    return s;
  }();
  return p;
}

std::string PythonTool::description() const {
  return "You are able to write and execute Python code securely inside a bubblewrap sandbox.";
}

bool PythonTool::accepts(const std::string& action) const {
  PythonCall call;
  return parse_python_action(action, &call);
}

Observation PythonTool::execute(const std::string& action, const ToolContext& context) {
  PythonCall call;
  Observation obs;
  if (!parse_python_action(action, &call)) {
    obs.valid = false;
    return obs;
  }
  SandboxRun run;
  run.argv = {"/usr/bin/python3", "-c", kLauncher};
  run.files = {{"main.py", prelude() + call.code + "\n"}};
  run.limits = limits_;
  if (context.extra_fields.is_object() && context.extra_fields.contains("stdin") && context.extra_fields["stdin"].is_string())
    run.stdin_text = context.extra_fields["stdin"].get<std::string>();
  SandboxResult r = run_sandboxed(run);
  std::string err = r.err;
  // The CPU limit (SIGXCPU) is a time limit too: under load it can fire just before the wall one.
  if (r.timed_out || r.signal == SIGXCPU) {
    char msg[96];
    std::snprintf(msg, sizeof msg, "Execution timed out after %g seconds.", limits_.wall_seconds);
    err += (err.empty() ? "" : "\n") + std::string(msg);
  } else if (r.signal != 0 && err.empty()) {
    err = "Execution was killed by signal " + std::to_string(r.signal) + " (a limit of the sandbox: CPU time, memory or file size).";
  }
  if (r.output_cut) err += (err.empty() ? "" : "\n") + std::string("[output cut at the sandbox's limit]");
  const std::string text = trim(r.out + (err.empty() ? "" : "\n" + err));
  obs.value = call.fenced ? "\n```result\n" + text + "\n```\n" : "\n<result>\n" + text + "\n</result>\n";
  return obs;
}

}  // namespace arlt::tools
