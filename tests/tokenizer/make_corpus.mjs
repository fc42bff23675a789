#!/usr/bin/env node
// Writes the tokenizer parity corpus (deterministic; no randomness, no network):
//   tests/data/tokenizer/corpus.jsonl        {"name", "text"} per line
//   tests/data/tokenizer/invalid_utf8.jsonl  {"name", "hex", "lossy"} per line; "lossy" is
//        new TextDecoder('utf-8').decode(bytes): WHATWG decoding, each maximal invalid subpart
//        -> one U+FFFD (the same as Rust's String::from_utf8_lossy).
//
//   node tests/tokenizer/make_corpus.mjs [--out-dir tests/data/tokenizer]
//
// Texts are valid Unicode only (no lone surrogates). Edit the lists below, rerun, then rerun
// tests/tokenizer/generate_expected.mjs.

import fs from "node:fs";
import path from "node:path";
import { REPO_ROOT, parseArgs } from "./ref_lib.mjs";

const args = parseArgs(process.argv.slice(2), {
  out_dir: path.join(REPO_ROOT, "tests", "data", "tokenizer"),
});

// Deterministic "Zalgo": base letters with a fixed cycle of combining marks (U+0300..U+036F).
function zalgo(word, marksPerChar) {
  let out = "";
  let k = 0;
  for (const ch of word) {
    out += ch;
    for (let i = 0; i < marksPerChar; ++i) {
      out += String.fromCodePoint(0x300 + ((k * 37 + 11) % 0x70));
      ++k;
    }
  }
  return out;
}

// Deterministic base64 of bytes 0..299 (i*7+3 mod 256).
const base64Blob = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 7 + 3) & 255)).toString(
  "base64"
);

const word300 = "Pneumonoultramicroscopicsilicovolcanoconiosis"
  .repeat(7)
  .slice(0, 300);

const corpus = [
  // --- English prose
  ["prose_basic", "The quick brown fox jumps over the lazy dog."],
  [
    "prose_contractions",
    "I'm sure you're right, but we've tried; they'll say it's fine and he'd agree. Don't you think? She can't, won't, shouldn't.",
  ],
  ["prose_contractions_upper", "I'M SURE YOU'RE RIGHT. IT'S DONE, HE'LL GO, WE'VE SEEN, THEY'D KNOW, DON'T."],
  ["prose_contractions_spaced", "it 's , we 've , they 're , I 'm , do n't , ca n't"],
  ["prose_cleanup_bait", "Hello , world . Is it ? Yes ! No ' quote ' here , ok ."],
  [
    "prose_quotes",
    "\"Hello,\" she said. 'Really?' he asked. \u201cCurly quotes\u201d and \u2018single ones\u2019 \u2014 it\u2019s an em dash\u2026 and an ellipsis.",
  ],
  ["prose_capitalised", "ALL CAPS, Title Case Words, MiXeD cAsE, iPhone, McDonald's, O'Brien, NASA's JPL."],
  [
    "prose_paragraph",
    "Tokenization is the first step of every language model. It splits text into pieces,\nmaps each piece to an id, and must be exactly reversible.\n\nA second paragraph follows; it has (parentheses), [brackets], {braces} and a colon: here.",
  ],
  ["prose_apostrophes", "'s 't 're 've 'm 'll 'd 'S 'T 'RE ''quoted'' '''triple''' it\u2019s rock'n'roll"],
  ["prose_long_s_contraction", "it'\u017fa the'\u017f"],
  // --- code
  [
    "code_python",
    'def fib(n: int) -> int:\n    """Return the n-th Fibonacci number."""\n    if n < 2:\n        return n\n    a, b = 0, 1\n    for _ in range(n - 1):\n        a, b = b, a + b\n    return b\n\n\nprint(fib(10))  # 55\n',
  ],
  [
    "code_cpp",
    "#include <vector>\n#include <iostream>\n\ntemplate <typename T, int N = 4>\nstd::vector<std::pair<T, T>> make(const T& x) {\n  std::vector<std::pair<T, T>> v;\n  for (int i = 0; i < N; ++i) { v.push_back({x, x}); }\n  return v;  // NRVO\n}\n\nint main() { auto v = make<int>(3); std::cout << v.size() << '\\n'; return v->empty() ? 1 : 0; }",
  ],
  [
    "code_json",
    '{"name": "arlt", "version": "0.1.0", "values": [1, 2.5, -3e10, true, false, null], "nested": {"a": "b\\n\\t\\"c\\"", "empty": {}, "list": []}}',
  ],
  ["code_shell", "ls -la | grep \"foo\" && echo $HOME > /tmp/x 2>&1; for f in *.txt; do wc -l \"$f\"; done"],
  ["code_makefile_tabs", "all: main.o util.o\n\tcc -o app main.o util.o\n\nclean:\n\trm -f *.o app\n"],
  ["code_identifiers", "snake_case_name camelCaseName PascalCase SCREAMING_CASE kebab-case __dunder__ _private x1 y_2"],
  ["code_html", '<div class="box" id=\'main\'>Hello&nbsp;world &lt;3</div><br/><!-- comment -->'],
  ["markdown", "# Title\n\n## Sub-title\n\n- item 1\n- item 2\n  - nested\n\n**bold** _italic_ `code` [link](https://example.com)\n\n---\n"],
  // --- numbers
  ["numbers_long_digits", "1234567890123 and 98765432109876543210"],
  ["numbers_decimal", "pi = 3.14159, e = 2.71828, -0.5, +7, 1e-10, 6.022e23"],
  ["numbers_grouped", "1,000,000 people paid $12,345.67 (or 1 000 000 in French style, 1.000.000 in German)."],
  ["numbers_dates_times", "2024-01-15, 15/01/2024, Jan 15th 2024, 12:34:56.789, 23h59, v1.2.3-rc.4"],
  ["numbers_mixed", "abc123def456 0x1F 0b1010 0o777 3rd 21st 100% 50kg A4 MP3 H2O"],
  ["numbers_digit_run_50", "01234567890123456789012345678901234567890123456789"],
  // --- whitespace
  ["spaces_runs_2_to_20", [2, 3, 4, 5, 6, 7, 8, 9, 10, 16, 20].map((n) => "w" + " ".repeat(n)).join("") + "end"],
  ["spaces_only_4", "    "],
  ["spaces_only_20", " ".repeat(20)],
  ["spaces_leading", "  hello world"],
  ["spaces_trailing", "hello world  "],
  ["spaces_both", "   hello   "],
  ["space_leading_one", " Hello"],
  ["tabs", "a\tb\t\tc\t\t\td\t"],
  ["tab_leading", "\tindented\n\t\tdouble"],
  ["newline_lf", "line one\nline two\nline three"],
  ["newline_crlf", "line one\r\nline two\r\n"],
  ["newline_triple", "para one\n\n\npara two"],
  ["newline_mixed_ws", "a  \n  \tb \r\n\t c\n \n"],
  ["newline_cr_only", "a\rb\r\rc"],
  ["newline_trailing", "end with newline\n"],
  ["newlines_only", "\n\n\n"],
  ["empty", ""],
  ["single_space", " "],
  ["single_newline", "\n"],
  ["single_tab", "\t"],
  [
    "unicode_spaces",
    "nbsp\u00a0x ideo\u3000x en\u2002x thin\u2009x zwsp\u200bx nel\u0085x bom\ufeffx ls\u2028x ps\u2029x nnbsp\u202fx",
  ],
  ["nel_between_words", "one\u0085two \u0085three"],
  ["bom_leading", "\ufeffHello"],
  ["bom_contraction", "\ufeff's x \ufeffb"],
  // --- scripts
  ["cjk_chinese", "我爱自然语言处理。今天天气很好！你好，世界？"],
  ["cjk_japanese", "東京は日本の首都です。ひらがな、カタカナ、漢字を混ぜて書きます。ｶﾀｶﾅ半角も。"],
  ["cjk_korean", "안녕하세요, 세계! 한국어 텍스트입니다. 띄어쓰기도 있어요."],
  ["cjk_fullwidth", "ＡＢＣ　ａｂｃ　１２３！？（）"],
  ["arabic", "مرحبا بالعالم! هذه جملة عربية مع أرقام ١٢٣ و 456."],
  ["hebrew", "שלום עולם! זה משפט בעברית. שָׁלוֹם עם ניקוד."],
  ["hindi", "नमस्ते दुनिया! हिन्दी में वाक्य। क्षत्रिय, द्वार, श्री।"],
  ["thai", "สวัสดีครับ ภาษาไทยไม่มีช่องว่างระหว่างคำ"],
  ["cyrillic_greek", "Привет, мир! Съешь же ещё этих мягких французских булок. Γειά σου Κόσμε!"],
  ["vietnamese_ignore_merges", "T\u00f4i l\u00e0m vi\u1ec7c h\u1ee3p t\u00e1c nhi\u1ec1u \u0111i\u1ec1u"],
  ["mixed_script", "Hello 世界! Привет мир. مرحبا 🌍 こんにちは 123 שלום नमस्ते"],
  ["math_currency", "∑∫√∞ ≤ ≥ ≠ ± × ÷ → ⇒ ∀x∈ℝ; €100 £50 ¥1000 $5.99 ₹20 ₿0.1"],
  // --- emoji
  ["emoji_simple", "Hello 😀🎉👍 world 🚀"],
  ["emoji_skin_tone", "👍🏽 👋🏿 🧑🏻‍💻"],
  ["emoji_zwj_family", "👨‍👩‍👧‍👦 family, 👩‍❤️‍👨 couple, 🏳️‍🌈 flag"],
  ["emoji_flags", "🇺🇸🇯🇵🇩🇪🇫🇷 flags"],
  ["emoji_keycap_vs16", "1️⃣ #️⃣ ❤️ ☺️ ✔︎"],
  ["emoji_dense", "😀😃😄😁😆😅😂🤣🥲☺️😊😇🙂🙃😉😌😍🥰😘"],
  // --- combining marks and normalization
  ["combining_decomposed", "Cafe\u0301 re\u0301sume\u0301 nai\u0308ve"],
  ["combining_composed", "Caf\u00e9 r\u00e9sum\u00e9 na\u00efve"],
  ["combining_mixed", "e\u0301 vs \u00e9; A\u030a vs \u00c5 vs \u212b (angstrom); \u1100\u1161 vs \uac00"],
  ["zalgo", zalgo("Zalgo", 6) + " " + zalgo("text", 3)],
  ["nfc_unicode10_mark", "e\u0c3c\u0301 a\u0d3b\u0301"],
  ["combining_lone", "\u0301\u0302 leading marks"],
  ["ligatures_compat", "\ufb01nance \ufb02ow \u2460 \u00bd x\u00b2 \u2122"],
  // --- special tokens inside text
  ["special_qwen_chat", "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"],
  ["special_qwen_eot", "text<|endoftext|>more text"],
  ["special_qwen_think", "<think>\nreasoning here\n</think>\n\nThe answer is 42."],
  ["special_qwen_tool", '<tool_call>\n{"name": "f", "arguments": {}}\n</tool_call>'],
  ["special_qwen_fim", "<|fim_prefix|>def f():\n    <|fim_suffix|>\n    return x<|fim_middle|>"],
  [
    "special_llama3_chat",
    "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
  ],
  ["special_llama3_eot", "done<|end_of_text|> <|reserved_special_token_5|>"],
  ["special_llama2_inst", "<s>[INST] hi there [/INST] hello</s>"],
  ["special_llama2_unk", "a<unk>b <s> c </s>"],
  ["special_spaced", "hello <|im_end|> world <|eot_id|> again </s> end"],
  ["special_adjacent", "<|im_end|><|im_end|><s><s></s><|eot_id|><|eot_id|>"],
  ["special_partial", "<|im_start <|im_start| <|eot_id <|begin_of_text |> <s > < s> </ s> <|im_end|x"],
  ["special_nested_text", "<|im_start|><|im_start|>|><<|endoftext|>>"],
  // --- long tokens
  ["long_word_300", word300],
  ["long_run_a_1000", "a".repeat(1000)],
  ["long_url", "See https://example.com/path/to/resource.html?query=value&other=123&x=%20y#fragment-2 now."],
  ["long_base64", base64Blob],
  ["long_hex_hash", "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"],
  ["long_punct_runs", "=".repeat(60) + "\n" + "-".repeat(80) + "\n...!!!???,,,;;;:::" + "!".repeat(30)],
  ["long_spaces_100", "x" + " ".repeat(100) + "y"],
  // --- control and odd code points
  ["control_nul", "a\u0000b\u0000"],
  ["control_bell_esc", "bell\u0007 \u001b[31mred\u001b[0m del\u007f"],
  ["control_c1", "c1\u0080\u009f end"],
  ["private_use", "pua \ue000\uf8ff \u{f0000}\u{10fffd}"],
  ["replacement_char", "bad \ufffd byte \ufffd\ufffd"],
  ["noncharacters", "\ufffe\uffff \u{1fffe}"],
  ["zero_width_joiners", "a\u200db\u200cc\u2060d\u00ade"],
  ["variation_selectors", "\u845b\u{e0100} \u{1f600}\ufe0e"],
  ["metaspace_literal", "hello\u2581world \u2581\u2581 \u2581start"],
  ["byte_token_literal", "<0x41> <0xFF> <0x0A>"],
  ["unicode15_cjk_ext_h", "a\u{31350}b \u{31350}"],
  ["astral_letters", "\u{1d400}\u{1d401} \u{10400}\u{10428} \u{20000}\u{2a6d6}"],
];

// Invalid UTF-8 byte strings. The C++ side decodes them lossily and compares with the reference
// run on the lossy text.
const invalid = [
  ["lone_continuation", "80"],
  ["lone_continuations_3", "808182"],
  ["truncated_3byte", "e282"],
  ["truncated_3byte_then_ascii", "e28241"],
  ["truncated_4byte", "f09f98"],
  ["overlong_slash", "c0af"],
  ["overlong_3byte_nul", "e08080"],
  ["byte_ff", "ff"],
  ["byte_fe_ff", "feff41"],
  ["surrogate_d800", "eda080"],
  ["surrogate_pair_encoded", "eda0bdedb880"],
  ["above_max_f4_90", "f4908080"],
  ["f5_lead", "f5808080"],
  ["text_bad_middle", "48656c6c6f2c20ff776f726c6421"],
  ["text_truncated_emoji_end", "68692066f09f98"],
  ["text_cjk_bad_middle", "e68891e788b1ffe4bda0"],
  ["valid_then_lone_lead", "616263c3"],
  ["mixed_many_errors", "41c3284280e282acff4ef0908c"],
];

const outDir = args.out_dir;
fs.mkdirSync(outDir, { recursive: true });

const names = new Set();
for (const [name] of [...corpus, ...invalid]) {
  if (names.has(name)) throw new Error(`duplicate name ${name}`);
  names.add(name);
}
for (const [name, text] of corpus) {
  if (!text.isWellFormed()) throw new Error(`${name}: lone surrogate`);
}

fs.writeFileSync(
  path.join(outDir, "corpus.jsonl"),
  corpus.map(([name, text]) => JSON.stringify({ name, text })).join("\n") + "\n"
);
const decoder = new TextDecoder("utf-8");
fs.writeFileSync(
  path.join(outDir, "invalid_utf8.jsonl"),
  invalid
    .map(([name, hex]) => JSON.stringify({ name, hex, lossy: decoder.decode(Buffer.from(hex, "hex")) }))
    .join("\n") + "\n"
);
process.stderr.write(`make_corpus: ${corpus.length} corpus lines, ${invalid.length} invalid_utf8 lines -> ${outDir}\n`);
