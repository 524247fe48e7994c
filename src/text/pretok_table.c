/* pretok_table.c — which pre-tokenizer regexes and flags each
 * tokenizer.ggml.pre name selects for byte-level BPE vocabs (the same
 * choices llama.cpp makes; the regex strings are its "adapted" forms, in
 * its std::regex dialect, translated to PCRE2 by pretokenize.c).
 *
 * Two entries are rewritten for PCRE2 but mean the same thing: llama.cpp
 * spells "a letter that is not a-z" as ((?=[\p{L}])([^a-z])), which we
 * write as the single class [^\P{L}a-z] so that long runs need no
 * backtracking frames (llama.cpp's std::regex overflows the stack there). */
#include "text/pretokenize.h"

#include <string.h>

#define CONTRACTIONS "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
#define GPT2_RE "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)"
#define LLAMA3_RE                                                                                  \
    CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"     \
                 "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define QWEN2_RE                                                                                   \
    CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"          \
                 "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
/* Upper-ish then lower-ish letter runs, o200k style (see the note above). */
#define UP "[^\\P{L}a-z]"
#define LO "[^\\P{L}A-Z]"
#define GPT4O_RE                                                                                   \
    "[^\\r\\n\\p{L}\\p{N}]?" UP "*" LO "+" CONTRACTIONS "?|[^\\r\\n\\p{L}\\p{N}]?" UP "+" LO      \
    "*" CONTRACTIONS "?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define TEKKEN_RE                                                                                  \
    "[^\\r\\n\\p{L}\\p{N}]?" UP "*" LO "+|[^\\r\\n\\p{L}\\p{N}]?" UP "+" LO                       \
    "*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
/* The same with combining marks counted as letters. */
#define UPM "(?:" UP "|\\p{M})"
#define LOM "(?:" LO "|\\p{M})"
#define INKLING_RE                                                                                 \
    "[^\\r\\n\\p{L}\\p{N}]?" UPM "*" LOM "+" CONTRACTIONS "?|[^\\r\\n\\p{L}\\p{N}]?" UPM "+" LOM  \
    "*" CONTRACTIONS "?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define CJK_RE "[一-龥ࠀ-一가-퟿]+"

static const char *const re_default[] = {
    "[\\p{P}\\$\\+<=>\\^~\\|]+", GPT2_RE, "\\p{N}+", "[0-9][0-9][0-9]", NULL};
static const char *const re_llama3[] = {LLAMA3_RE, NULL};
static const char *const re_jais2[] = {
    CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
                 "\\s*[\\r\\n]+|\\s{512}(?!\\S)|\\s{256}(?!\\S)|\\s{128}(?!\\S)|\\s{64}(?!\\S)|"
                 "\\s{32}(?!\\S)|\\s{16}(?!\\S)|\\s{8}(?!\\S)|\\s{4}(?!\\S)|\\s{1,2}(?!\\S)|\\s{1}",
    NULL};
/* Written with \x{..} where a character has a canonical singleton
 * decomposition (U+1F7D, U+1FBE, U+1FD3, U+1FDB, U+2126, U+212A), so
 * that no Unicode normalization of this file can change the ranges. */
static const char *const re_deepseek_llm[] = {
    "[\r\n]",
    "\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-\\x{1F7D}ᾀ-ᾴᾶ-ᾼ\\x{1FBE}ῂ-ῄῆ-ῌῐ-\\x{1FD3}ῖ-\\x{1FDB}ῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤ\\x{2126}ℨ\\x{212A}-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+",
    "\\s?[!-/:-~！-／：-～‘-‟　-。]+",
    "(?<!\\s)\\s+$", /* llama.cpp: \s+$ (same match; the guard keeps it linear) */
    CJK_RE,
    "\\p{N}+",
    NULL};
static const char *const re_deepseek3[] = {
    "\\p{N}{1,3}",
    "[一-龥぀-ゟ゠-ヿ]+",
    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+|"
    " ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+",
    NULL};
static const char *const re_deepseek_coder[] = {
    "[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", CJK_RE, "\\p{N}", NULL};
static const char *const re_falcon[] = {
    "[\\p{P}\\$\\+<=>\\^~\\|`]+", GPT2_RE, "[0-9][0-9][0-9]", NULL};
static const char *const re_starcoder[] = {"\\p{N}", GPT2_RE, NULL};
static const char *const re_gpt2[] = {GPT2_RE, NULL};
static const char *const re_qwen2[] = {QWEN2_RE, NULL};
static const char *const re_qwen35[] = {
    CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+"
                 "[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    NULL};
static const char *const re_poro[] = {" ?[^(\\s|.,!?…。，、।۔،)]+", NULL};
static const char *const re_viking[] = {" ?[^(\\s|.,!?…。，、।۔،)]+", "\\p{N}", NULL};
static const char *const re_tekken[] = {TEKKEN_RE, NULL};
static const char *const re_chameleon[] = {
    "<sentinel:[0-9]+>", "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z", "([\\t\\n]|    |  )",
    "\\p{N}",            "[\\p{P}!-/:-@\\[-`{-~]",               GPT2_RE,
    NULL};
static const char *const re_gpt4o[] = {GPT4O_RE, NULL};
static const char *const re_inkling[] = {INKLING_RE, NULL};
static const char *const re_bailingmoe[] = {
    "'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}|"
    " ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+",
    NULL};
static const char *const re_seed_coder[] = {
    CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1}| ?[^\\s\\p{L}\\p{N}\\r\\n]+|"
                 "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    NULL};
static const char *const re_laguna[] = {"[^\\n]+|[\\n]+", QWEN2_RE, NULL};
static const char *const re_exaone_moe[] = {
    CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?(?:\\p{L}\\p{M}*(?: \\p{L}\\p{M}*)*)+|\\p{N}|"
                 " ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]?|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+",
    NULL};
static const char *const re_minicpm5[] = {
    "\\p{N}{1,3}",
    CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}+| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
                 "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    NULL};

typedef struct pre_entry {
    const char *names; /* '|'-separated */
    const char *const *re;
    unsigned flags;
} pre_entry;

#define NOCLEAN LF_PRE_NO_CLEAN_SPACES
#define IGNM LF_PRE_IGNORE_MERGES
#define BOS LF_PRE_ADD_BOS

static const pre_entry k_pre[] = {
    {"default", re_default, 0},
    {"llama3|llama-v3|llama-bpe|falcon3|falcon-h1|pixtral|midm-2.0|lfm2|jina-v5-nano", re_llama3,
     IGNM | BOS},
    {"deepseek-llm", re_deepseek_llm, NOCLEAN},
    {"deepseek-coder", re_deepseek_coder, NOCLEAN},
    {"deepseek-v3|hunyuan-dense|joyai-llm", re_deepseek3, NOCLEAN},
    {"falcon", re_falcon, 0},
    {"mpt|olmo|jais|exaone4", re_gpt2, 0},
    {"starcoder|refact|codeshell|exaone|minerva-7b|mellum2", re_starcoder, 0},
    {"command-r|smollm", re_starcoder, NOCLEAN},
    {"gpt-2|phi-2|jina-es|jina-de|gigachat|jina-v2-es|jina-v2-de|a.x-4.0|mellum|modern-bert",
     re_gpt2, 0},
    {"jina-v1-en|jina-v2-code|roberta-bpe", re_gpt2, LF_PRE_ADD_SEP},
    {"trillion|granite-docling", re_gpt2, NOCLEAN},
    {"jais-2", re_jais2, 0},
    {"qwen2|deepseek-r1-qwen|kormo|f2llmv2|hunyuan|grok-2|solar-open", re_qwen2, NOCLEAN},
    {"stablelm2|megrez", re_qwen2, 0},
    {"qwen35", re_qwen35, NOCLEAN},
    {"dbrx|smaug-bpe", re_llama3, 0},
    {"glm4|chatglm-bpe", re_llama3, LF_PRE_NO_BOS_ID},
    {"poro-chat", re_poro, NOCLEAN},
    {"bloom|gpt3-finnish", re_poro, 0},
    {"viking", re_viking, NOCLEAN},
    {"tekken", re_tekken, NOCLEAN | IGNM | BOS},
    {"chameleon", re_chameleon, NOCLEAN | BOS},
    {"gpt-4o|llama4|kanana2|talkie|minimax-m2", re_gpt4o, NOCLEAN},
    {"inkling", re_inkling, NOCLEAN},
    {"granite-embed-multi-97m", re_inkling, NOCLEAN | IGNM},
    {"bailingmoe|bailingmoe2|llada-moe", re_bailingmoe, NOCLEAN},
    {"seed-coder", re_seed_coder, NOCLEAN},
    {"laguna", re_laguna, NOCLEAN},
    {"exaone-moe", re_exaone_moe, 0},
    {"minicpm5", re_minicpm5, IGNM},
};

static bool name_in(const char *list, const char *name) {
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && memcmp(p, name, n) == 0)
            return true;
        if (!bar)
            break;
        p = bar + 1;
    }
    return false;
}

bool lf_pre_lookup(const char *name, lf_pre_info *out) {
    for (size_t i = 0; i < sizeof k_pre / sizeof k_pre[0]; i++) {
        if (name_in(k_pre[i].names, name)) {
            out->regexes = k_pre[i].re;
            out->flags = k_pre[i].flags;
            return true;
        }
    }
    return false;
}
