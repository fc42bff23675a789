#!/usr/bin/env node
// Deterministic mixed-text corpus for the tokenizer benchmark (bench/tokenizer_ref.mjs and the
// C++ tokenizer bench).
//
//   node bench/make_tokenizer_corpus.mjs --mb 8 --out FILE [--seed 1]
//
// Writes about MB * 10^6 bytes of UTF-8 text (cut at a line end, so a little over), made of
// paragraphs drawn with a seeded PRNG (mulberry32; no Math.random, no locale, so the same seed
// gives the same bytes on every machine and Node version):
//   ~45% English prose (capitals, contractions, punctuation, quotes, numbers inside),
//   ~20% code (Python, C++, JSON, shell), ~12% CJK (Chinese, Japanese, Korean),
//   ~8% other scripts (Cyrillic, Arabic, Hindi, Thai, Greek) mixed with Latin,
//   ~7% numbers/dates/URLs/hashes, ~4% emoji-heavy chat, ~4% lines of
//   tests/data/tokenizer/corpus.jsonl (the parity corpus, without the special-token and
//   control-character lines). "\r" is removed everywhere. Every line ends with "\n"; paragraphs are separated by a blank line.
// Prints one JSON line on stdout: {"out": FILE, "bytes": n, "lines": n, "sha256": hex}.

import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const SCRIPT_DIR = path.dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = path.resolve(SCRIPT_DIR, "..");

function parseArgs(argv) {
  const out = { mb: 8, out: "", seed: 1 };
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    const v = argv[i + 1];
    if (a === "--mb") (out.mb = Number(v)), ++i;
    else if (a === "--out") (out.out = v), ++i;
    else if (a === "--seed") (out.seed = Number(v)), ++i;
    else {
      process.stderr.write(`make_tokenizer_corpus: unknown argument ${a}\n`);
      process.exit(2);
    }
  }
  if (!out.out || !(out.mb > 0) || !Number.isInteger(out.seed)) {
    process.stderr.write("usage: node bench/make_tokenizer_corpus.mjs --mb 8 --out FILE [--seed 1]\n");
    process.exit(2);
  }
  return out;
}

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const args = parseArgs(process.argv.slice(2));
const rand = mulberry32(args.seed);
const int = (n) => Math.floor(rand() * n);
const pick = (arr) => arr[int(arr.length)];
const chance = (p) => rand() < p;

const WORDS = (
  "the of and to in is that it was for on are as with his they at be this from have or by one had " +
  "not but what all were when we there can an your which their said if do will each about how up out " +
  "them then she many some so these would other into has more her two like him see time could no make " +
  "than first been its who now people my made over did down only way find use may water long little " +
  "very after words called just where most know get through back much before go good new write our " +
  "used me man too any day same right look think also around another came come work three word must " +
  "because does part even place well such here take why things help put years different away again " +
  "off went old number great tell men say small every found still between name should home big give " +
  "air line set own under read last never us left end along while might next sound below saw something " +
  "thought both few those always looked show large often together asked house world going want school " +
  "important until form food keep children feet land side without boy once animals life enough took " +
  "sometimes four head above kind began almost live page got earth need far hand high year mother light " +
  "parts country father let night following picture being study second eyes soon times story boys " +
  "since white days ever paper hard near sentence better best across during today others however sure " +
  "means knew tokenizer model language inference training gradient tensor kernel memory cache batch " +
  "sequence attention vocabulary encoder decoder parameter benchmark throughput latency"
).split(" ");
const NAMES = ["Alice", "Bob", "Carol", "Dave", "Eve", "Mallory", "Paris", "London", "Tokyo", "Python", "Linux", "NASA", "OpenAI", "Qwen", "Llama"];
const CONTRACTIONS = ["it's", "don't", "can't", "I'm", "you're", "we've", "they'll", "she'd", "won't", "isn't", "that's", "there's", "I'll", "we'd"];
const CJK_ZH = "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话儿者向情部正名定女问力机给等几很业最间新什打便位因重被走电四第门相次东政海口使教西再平真听世气信北少关并内加化由却代军产入先山五太水万市眼体别处总才场师书比住员九笑性通目华报立马命张活难神数件安表原车白应路期叫死常提感金何更反合放做系计或司利受光王果亲界及今京务制解各任至清物台象记边共风战干接它许八特觉望直服毛林题建南度统色字请交爱让认算论百吃义科怎元社术结六功指思非流每青管夫连远资队跟带花快条院变联言权往展该领传近留红治决周保达办运武半候七必城父强步完革深区即求品士转量空甚众技轻程告江语英基派满式李息写呢识极令黄德收脸钱党倒未持取设始版双历越史商千片容研像找友孩站广改议形委早房音火际则首单据导影失拿网香似斯专石若兵弟谁校读志飞观争究包组造落视济喜离虽坏兴阿切乎离";
const CJK_JA_KANA = "あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわをんがぎぐげござじずぜぞだでどばびぶべぼアイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワヲンー";
const CJK_JA_KANJI = "日本語東京大学先生時間電話会社仕事学校天気今日明日食事映画音楽写真旅行新聞駅";
const HANGUL_SYLLABLES = "가나다라마바사아자차카타파하고노도로모보소오조초코토포호구누두루무부수우주추쿠투푸후그느드르므브스으즈츠크트프흐기니디리미비시이지치키티피히한국어입니다에서는을를의와과";
const OTHER = [
  "Привет, как дела? Сегодня хорошая погода, и мы идём гулять в парк.",
  "Быстрая коричневая лиса прыгает через ленивую собаку.",
  "مرحبا، كيف حالك؟ الطقس جميل اليوم ونحن ذاهبون إلى الحديقة.",
  "नमस्ते, आप कैसे हैं? आज मौसम अच्छा है और हम पार्क जा रहे हैं।",
  "สวัสดีครับ วันนี้อากาศดีมาก เราจะไปเดินเล่นที่สวนสาธารณะ",
  "Γειά σου! Σήμερα ο καιρός είναι ωραίος και πάμε στο πάρκο.",
  "שלום, מה שלומך? היום מזג האוויר יפה ואנחנו הולכים לפארק.",
  "Xin chào, bạn có khỏe không? Hôm nay trời đẹp quá.",
  "Grüß Gott! Die Straße ist schön, und das Mädchen läuft über die Brücke.",
  "Ça va très bien, merci ! L'été dernier, nous sommes allés à la plage.",
];
const EMOJI = ["😀", "😂", "🥲", "👍", "👍🏽", "🎉", "🚀", "❤️", "🔥", "✨", "🙏", "👨‍👩‍👧‍👦", "🇯🇵", "🇺🇸", "🤖", "📈", "✅", "⚠️", "🧑🏻‍💻", "🌍"];

function sentence() {
  const n = 4 + int(14);
  const ws = [];
  for (let i = 0; i < n; ++i) {
    const r = rand();
    if (r < 0.05) ws.push(pick(CONTRACTIONS));
    else if (r < 0.09) ws.push(pick(NAMES));
    else if (r < 0.12) ws.push(String(int(r < 0.105 ? 100 : 100000)));
    else ws.push(pick(WORDS));
    if (i < n - 1 && chance(0.08)) ws[ws.length - 1] += pick([",", ",", ";", ":", " -", " —"]);
  }
  let s = ws.join(" ");
  s = s[0].toUpperCase() + s.slice(1);
  if (chance(0.1)) s = `"${s}," ${pick(NAMES)} said`;
  if (chance(0.05)) s += ` (${pick(WORDS)} ${pick(WORDS)})`;
  return s + pick([".", ".", ".", ".", "!", "?", "...", "."]);
}

function prose() {
  const n = 2 + int(6);
  const ss = [];
  for (let i = 0; i < n; ++i) ss.push(sentence());
  return ss.join(" ");
}

function ident() {
  const a = pick(WORDS).replace(/'/g, "");
  const b = pick(WORDS).replace(/'/g, "");
  return pick([`${a}_${b}`, a + b[0].toUpperCase() + b.slice(1), a, `${a}${int(10)}`]);
}

function code() {
  const k = int(4);
  const f = ident();
  const x = ident();
  const y = ident();
  if (k === 0) {
    return [
      `def ${f}(${x}, ${y}=${int(100)}):`,
      `    """${sentence()}"""`,
      `    if ${x} is None:`,
      `        return []`,
      `    result = [${x}[i] * ${y} for i in range(len(${x})) if i % ${2 + int(5)} == 0]`,
      `    for key, value in sorted(${x}.items()):`,
      `        print(f"{key}: {value:.${int(6)}f}")  # ${pick(WORDS)}`,
      `    return result`,
    ].join("\n");
  }
  if (k === 1) {
    return [
      `template <typename T>`,
      `std::vector<T> ${f}(const std::vector<T>& ${x}, int ${y} = ${int(64)}) {`,
      `  std::vector<T> out;`,
      `  out.reserve(${x}.size());`,
      `  for (size_t i = 0; i < ${x}.size(); ++i) {`,
      `    if (${x}[i] > ${y}) out.push_back(${x}[i] * ${int(9) + 1});  // ${sentence()}`,
      `  }`,
      `  return out;`,
      `}`,
    ].join("\n");
  }
  if (k === 2) {
    const obj = {
      id: int(1_000_000),
      name: `${pick(NAMES)} ${pick(WORDS)}`,
      score: Math.round(rand() * 1e6) / 1e4,
      tags: [pick(WORDS), pick(WORDS), pick(WORDS)],
      active: chance(0.5),
      nested: { [ident()]: null, [ident()]: [int(10), int(100), int(1000)] },
    };
    return JSON.stringify(obj, null, chance(0.5) ? 2 : 0);
  }
  return [
    `#!/usr/bin/env bash`,
    `set -euo pipefail`,
    `for f in ./${x}/*.txt; do`,
    `\tgrep -n "${pick(WORDS)}" "$f" | awk -F: '{print $1}' >> /tmp/${y}.log`,
    `done`,
    `echo "done: $(wc -l < /tmp/${y}.log) lines" 2>&1`,
  ].join("\n");
}

function cjk() {
  const k = int(3);
  let s = "";
  if (k === 0) {
    const n = 20 + int(60);
    for (let i = 0; i < n; ++i) {
      s += CJK_ZH[int(CJK_ZH.length)];
      if (chance(0.08)) s += pick(["，", "。", "、", "！", "？"]);
    }
    return s + "。";
  }
  if (k === 1) {
    const n = 20 + int(50);
    for (let i = 0; i < n; ++i) {
      s += chance(0.3) ? CJK_JA_KANJI[int(CJK_JA_KANJI.length)] : CJK_JA_KANA[int(CJK_JA_KANA.length)];
      if (chance(0.06)) s += pick(["、", "。"]);
    }
    return s + "。";
  }
  const n = 5 + int(15);
  const ws = [];
  for (let i = 0; i < n; ++i) {
    let w = "";
    const len = 1 + int(4);
    for (let j = 0; j < len; ++j) w += HANGUL_SYLLABLES[int(HANGUL_SYLLABLES.length)];
    ws.push(w);
  }
  return ws.join(" ") + ".";
}

function otherScripts() {
  const n = 1 + int(3);
  const out = [];
  for (let i = 0; i < n; ++i) out.push(chance(0.7) ? pick(OTHER) : sentence());
  return out.join(" ");
}

// 1234567 -> "1,234,567" (no Intl/locale data involved).
function group3(n) {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

function numbers() {
  const y = 1990 + int(40);
  const m = String(1 + int(12)).padStart(2, "0");
  const d = String(1 + int(28)).padStart(2, "0");
  const hex = Array.from({ length: 32 }, () => "0123456789abcdef"[int(16)]).join("");
  return [
    `On ${y}-${m}-${d} at ${String(int(24)).padStart(2, "0")}:${String(int(60)).padStart(2, "0")}, revenue was $${group3(int(9_000_000) + 1_000_000)}.${String(int(100)).padStart(2, "0")} (${(rand() * 100).toFixed(2)}%).`,
    `id=${int(1e9)}${int(1e9)} pi≈3.${int(1e9)} e=2.71828 version v${int(10)}.${int(30)}.${int(100)}`,
    `https://example.com/${ident()}/${ident()}?q=${pick(WORDS)}&page=${int(100)}#${hex.slice(0, 8)}`,
    `commit ${hex}${hex.slice(0, 8)}, phone +1-${100 + int(900)}-${100 + int(900)}-${1000 + int(9000)}`,
  ].join(pick([" ", "\n"]));
}

function emojiChat() {
  const n = 3 + int(6);
  const parts = [];
  for (let i = 0; i < n; ++i) {
    parts.push(chance(0.5) ? pick(WORDS) : pick(EMOJI) + (chance(0.3) ? pick(EMOJI) : ""));
  }
  return `${pick(NAMES)}: ${parts.join(" ")} ${pick(EMOJI)}`;
}

// The parity corpus, minus lines holding special tokens (those are model specific) and the
// invalid/odd control-character lines (kept out of a throughput benchmark).
const SPECIAL = /<\|[a-z_0-9]+\|>|<\/?s>|<unk>|<think>|<\/think>|<tool_call>|<\/tool_call>|[\u0000-\u0008\u000e-\u001f\u007f]/;
const corpusTexts = fs
  .readFileSync(path.join(REPO_ROOT, "tests", "data", "tokenizer", "corpus.jsonl"), "utf8")
  .split("\n")
  .filter((l) => l.trim() !== "")
  .map((l) => JSON.parse(l).text)
  .filter((t) => t.trim() !== "" && !SPECIAL.test(t));

const KINDS = [
  [0.45, prose],
  [0.65, code],
  [0.77, cjk],
  [0.85, otherScripts],
  [0.92, numbers],
  [0.96, emojiChat],
  [1.0, () => pick(corpusTexts)],
];

function paragraph() {
  const r = rand();
  for (const [p, fn] of KINDS) if (r < p) return fn();
  return prose();
}

const target = Math.round(args.mb * 1e6);
const chunks = [];
let bytes = 0;
let lines = 0;
while (bytes < target) {
  let p = paragraph().replace(/\r/g, "");
  if (!p.endsWith("\n")) p += "\n";
  p += "\n";
  chunks.push(p);
  bytes += Buffer.byteLength(p, "utf8");
  lines += p.split("\n").length - 1;
}
const buf = Buffer.from(chunks.join(""), "utf8");
fs.mkdirSync(path.dirname(path.resolve(args.out)), { recursive: true });
fs.writeFileSync(args.out, buf);
const sha256 = crypto.createHash("sha256").update(buf).digest("hex");
process.stdout.write(JSON.stringify({ out: args.out, bytes: buf.length, lines, sha256 }) + "\n");
