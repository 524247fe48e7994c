/*
 * llamafile.h — the public C API. Apps include this header and nothing else
 * from the library. Every fallible call takes an lf_error and, on failure,
 * returns false / NULL with a one-line message in it.
 */
#ifndef LLAMAFILE_H
#define LLAMAFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LF_VERSION_STRING "0.1.0"

/* ------------------------------------------------------------------ errors */

typedef struct lf_error {
    char msg[512];
} lf_error;

/* ------------------------------------------------------------ tensor types */

/* ggml type ids, as stored in GGUF tensor infos. */
enum lf_type {
    LF_TYPE_F32 = 0,
    LF_TYPE_F16 = 1,
    LF_TYPE_Q4_0 = 2,
    LF_TYPE_Q4_1 = 3,
    /* 4, 5: removed (Q4_2, Q4_3) */
    LF_TYPE_Q5_0 = 6,
    LF_TYPE_Q5_1 = 7,
    LF_TYPE_Q8_0 = 8,
    LF_TYPE_Q8_1 = 9,
    LF_TYPE_Q2_K = 10,
    LF_TYPE_Q3_K = 11,
    LF_TYPE_Q4_K = 12,
    LF_TYPE_Q5_K = 13,
    LF_TYPE_Q6_K = 14,
    LF_TYPE_Q8_K = 15,
    LF_TYPE_IQ2_XXS = 16,
    LF_TYPE_IQ2_XS = 17,
    LF_TYPE_IQ3_XXS = 18,
    LF_TYPE_IQ1_S = 19,
    LF_TYPE_IQ4_NL = 20,
    LF_TYPE_IQ3_S = 21,
    LF_TYPE_IQ2_S = 22,
    LF_TYPE_IQ4_XS = 23,
    LF_TYPE_I8 = 24,
    LF_TYPE_I16 = 25,
    LF_TYPE_I32 = 26,
    LF_TYPE_I64 = 27,
    LF_TYPE_F64 = 28,
    LF_TYPE_IQ1_M = 29,
    LF_TYPE_BF16 = 30,
    /* 31-33: removed (Q4_0_4_4, Q4_0_4_8, Q4_0_8_8) */
    LF_TYPE_TQ1_0 = 34,
    LF_TYPE_TQ2_0 = 35,
    /* 36-38: removed (IQ4_NL_4_4, IQ4_NL_4_8, IQ4_NL_8_8) */
    LF_TYPE_MXFP4 = 39,
    LF_TYPE_NVFP4 = 40,
    LF_TYPE_Q1_0 = 41,
    LF_TYPE_Q2_0 = 42,
    LF_TYPE_COUNT = 43
};

/* Name of a type id ("Q4_K"), or NULL for an id that is not a ggml type. */
const char *lf_type_name(int type);
/* Type id for a name (case-insensitive), or -1. */
int lf_type_from_name(const char *name);
/* Elements per block and bytes per block; 0 for unknown/removed ids. */
int64_t lf_type_block_size(int type);
int64_t lf_type_block_bytes(int type);
/* True when this build can dequantize and compute with the type. */
bool lf_type_supported(int type);
/* Bytes of a row of n elements, or -1 if n is not a multiple of the block. */
int64_t lf_type_row_bytes(int type, int64_t n);

/* -------------------------------------------------------------------- GGUF */

enum lf_gguf_type {
    LF_GGUF_UINT8 = 0,
    LF_GGUF_INT8 = 1,
    LF_GGUF_UINT16 = 2,
    LF_GGUF_INT16 = 3,
    LF_GGUF_UINT32 = 4,
    LF_GGUF_INT32 = 5,
    LF_GGUF_FLOAT32 = 6,
    LF_GGUF_BOOL = 7,
    LF_GGUF_STRING = 8,
    LF_GGUF_ARRAY = 9,
    LF_GGUF_UINT64 = 10,
    LF_GGUF_INT64 = 11,
    LF_GGUF_FLOAT64 = 12,
    LF_GGUF_TYPE_COUNT = 13
};

/* A string inside the mapped file: not NUL-terminated. */
typedef struct lf_str {
    const char *ptr;
    uint64_t len;
} lf_str;

/* A metadata value. Scalars are widened into u/i/f/b; strings point into
 * the mapping. For arrays, arr_type/arr_n describe the elements; read them
 * with lf_gguf_arr_get. */
typedef struct lf_gguf_value {
    int type;
    int arr_type;
    uint64_t arr_n;
    union {
        uint64_t u;
        int64_t i;
        double f;
        bool b;
        lf_str s;
    } v;
} lf_gguf_value;

typedef struct lf_gguf_tensor {
    lf_str name;
    int type;
    int n_dims;
    int64_t ne[4];        /* missing dims are 1 */
    uint64_t offset;      /* relative to its shard's data section */
    uint64_t file_offset; /* absolute offset in the shard's file/range */
    uint64_t nbytes;
    const void *data;     /* mapped, zero-copy */
    int shard;
} lf_gguf_tensor;

typedef struct lf_gguf lf_gguf;

/* Open a GGUF file. A name ending in -00001-of-0000N.gguf opens all N
 * shards as one model (metadata from the first). */
lf_gguf *lf_gguf_open(const char *path, lf_error *err);
/* Open the GGUF stored at [offset, offset+size) of an open file (a member of
 * a llamafile); name is used in messages. The fd may be closed afterwards. */
lf_gguf *lf_gguf_open_range(int fd, uint64_t offset, uint64_t size,
                            const char *name, lf_error *err);
/* Parse a GGUF held in memory (not copied: it must outlive the handle). */
lf_gguf *lf_gguf_open_memory(const void *data, size_t size, const char *name,
                             lf_error *err);
void lf_gguf_close(lf_gguf *g);

uint32_t lf_gguf_version(const lf_gguf *g);
uint32_t lf_gguf_alignment(const lf_gguf *g);
int lf_gguf_shard_count(const lf_gguf *g);
/* Size of a shard's file (or range) and where its data section starts
 * (with no tensors, that may be past the end: the padding is optional). */
uint64_t lf_gguf_file_size(const lf_gguf *g, int shard);
uint64_t lf_gguf_data_offset(const lf_gguf *g, int shard);

int64_t lf_gguf_kv_count(const lf_gguf *g);
lf_str lf_gguf_kv_key(const lf_gguf *g, int64_t i);
/* Value of kv i; type is -1 when i is out of range. */
lf_gguf_value lf_gguf_kv_value(const lf_gguf *g, int64_t i);
/* Index of a key, or -1. */
int64_t lf_gguf_find_key(const lf_gguf *g, const char *key);
/* Element j of array kv i, as a scalar or string value (false if out of range). */
bool lf_gguf_arr_get(const lf_gguf *g, int64_t i, uint64_t j, lf_gguf_value *out);

/* Typed lookups: false if the key is absent or of an incompatible type.
 * get_int accepts every integer type (and bool), get_float both floats. */
bool lf_gguf_get_int(const lf_gguf *g, const char *key, int64_t *out);
bool lf_gguf_get_float(const lf_gguf *g, const char *key, double *out);
bool lf_gguf_get_bool(const lf_gguf *g, const char *key, bool *out);
bool lf_gguf_get_str(const lf_gguf *g, const char *key, lf_str *out);

int64_t lf_gguf_tensor_count(const lf_gguf *g);
const lf_gguf_tensor *lf_gguf_tensor_at(const lf_gguf *g, int64_t i);
/* Tensor by name, or NULL. */
const lf_gguf_tensor *lf_gguf_find_tensor(const lf_gguf *g, const char *name);

/* Name of a metadata value type ("uint32", "string", ...), or NULL. */
const char *lf_gguf_type_name(int type);

/* ------------------------------------------------------------- GGUF writer */

typedef struct lf_gguf_writer lf_gguf_writer;

lf_gguf_writer *lf_gguf_writer_new(void);
void lf_gguf_writer_free(lf_gguf_writer *w);
/* Metadata; a key set twice keeps the last value (at its first position).
 * Values are copied. For set_scalar, value points to the C type of `type`
 * (a bool for BOOL), except STRING where value is the NUL-terminated string
 * itself. general.alignment must be a uint32 power of two. */
bool lf_gguf_set_scalar(lf_gguf_writer *w, const char *key, int type,
                        const void *value, lf_error *err);
bool lf_gguf_set_u32(lf_gguf_writer *w, const char *key, uint32_t v, lf_error *err);
bool lf_gguf_set_f32(lf_gguf_writer *w, const char *key, float v, lf_error *err);
bool lf_gguf_set_str(lf_gguf_writer *w, const char *key, const char *s, lf_error *err);
/* Array of n fixed-size elements of elem_type (raw little-endian values). */
bool lf_gguf_set_arr(lf_gguf_writer *w, const char *key, int elem_type,
                     const void *data, uint64_t n, lf_error *err);
bool lf_gguf_set_arr_str(lf_gguf_writer *w, const char *key,
                         const char *const *strs, uint64_t n, lf_error *err);
/* Tensor; data (nbytes from type and shape) is referenced, not copied, and
 * must stay valid until the file is written; NULL data writes zeros. */
bool lf_gguf_add_tensor(lf_gguf_writer *w, const char *name, int type,
                        int n_dims, const int64_t *ne, const void *data,
                        lf_error *err);
/* Write to a file atomically: a temp file beside it, renamed into place.
 * An existing path must be a regular file or a symbolic link to one (the
 * file it leads to is replaced, the link kept); anything else is refused. */
bool lf_gguf_writer_write(lf_gguf_writer *w, const char *path, lf_error *err);
/* Write to a malloc'd buffer the caller frees. */
bool lf_gguf_writer_to_memory(lf_gguf_writer *w, void **out, size_t *out_size,
                              lf_error *err);

/* ---------------------------------------------- packaging (zip, .args) ---
 * A llamafile is an executable with a zip archive appended: the weights and
 * a `.args` file are stored (uncompressed) members, mapped in place. */

typedef struct lf_zip lf_zip;

typedef struct lf_zip_entry {
    const char *name;         /* NUL-terminated (names holding NUL are rejected) */
    size_t name_len;
    int method;               /* 0: stored, 8: deflated, ... */
    uint16_t flags;           /* general purpose flags (bit 0: encrypted) */
    uint32_t crc32;
    uint64_t compressed_size;
    uint64_t size;            /* uncompressed */
    uint64_t header_offset;   /* local file header, from the start of the file */
    uint64_t data_offset;     /* first byte of the (compressed) data */
    uint32_t mode;            /* Unix mode bits when recorded, else 0 */
} lf_zip_entry;

/* Reads and validates the central directory (ZIP64 too) of a file, an open
 * file (the fd is duplicated: the caller may close it) or a buffer (not
 * copied: it must outlive the handle). name is used in messages, which read
 * `NAME: offset N: what`. A file with no end-of-central-directory record
 * is an error ("not a zip archive"). */
lf_zip *lf_zip_open(const char *path, lf_error *err);
lf_zip *lf_zip_open_fd(int fd, const char *name, lf_error *err);
lf_zip *lf_zip_open_memory(const void *data, size_t size, const char *name,
                           lf_error *err);
/* The running executable's archive; one with no entries when the
 * executable holds no zip. */
lf_zip *lf_zip_open_self(lf_error *err);
void lf_zip_close(lf_zip *z);

const char *lf_zip_name(const lf_zip *z);
int64_t lf_zip_count(const lf_zip *z);
const lf_zip_entry *lf_zip_entry_at(const lf_zip *z, int64_t i);
/* Entry by exact name, or NULL. */
const lf_zip_entry *lf_zip_find(const lf_zip *z, const char *name);
/* The one member whose name ends in ".gguf" (any case); none or several is
 * an error naming the members. */
const lf_zip_entry *lf_zip_find_gguf(const lf_zip *z, lf_error *err);
/* Where a stored member's bytes lie in the file, for mapping them in place.
 * A compressed or encrypted member is an error ("re-add it with
 * zipalign -0"). */
bool lf_zip_stored_range(const lf_zip *z, const lf_zip_entry *e, uint64_t *offset,
                         uint64_t *size, lf_error *err);
/* A stored member's bytes, copied into a malloc'd buffer (with a NUL after
 * them) that the caller frees; for small members such as .args. */
bool lf_zip_read_member(const lf_zip *z, const lf_zip_entry *e, char **out,
                        size_t *out_size, lf_error *err);
/* The file the archive was read from (-1 for a buffer); owned by z. */
int lf_zip_fd(const lf_zip *z);

/* zipalign: appends each file to archive (created if missing) as a stored
 * member whose data starts at a multiple of the alignment, and writes a new
 * central directory listing the earlier members and the new ones (a member
 * of the same name is replaced). On any failure the archive is left as it
 * was (same size, same bytes; removed if this call created it). */
typedef struct lf_zipalign_options {
    uint64_t alignment; /* power of two, at most 1 GiB; 0: 65536 */
    bool junk_paths;    /* -j: store each file's base name */
    bool use_mtime;     /* -N: file modification times, not a fixed date */
    bool verbose;       /* -v: print "FILE -> NAME" on stderr */
} lf_zipalign_options;
bool lf_zipalign(const char *archive, const char *const *files, int n_files,
                 const lf_zipalign_options *opt, lf_error *err);

/* Where a model named on the command line lies. spec is, in order:
 *   a GGUF file (it starts with "GGUF"; split models are read whole);
 *   a llamafile or zip holding exactly one .gguf member;
 *   "/zip/NAME": member NAME of the running executable;
 *   "ARCHIVE@MEMBER": that member of that archive;
 *   a name that is no file: the member of that name in the executable.
 * NULL spec: the single .gguf member of the running executable. */
typedef struct lf_model_source {
    char *path;      /* plain file: open it by path (malloc'd) */
    char *name;      /* for messages: the path, or ARCHIVE@MEMBER (malloc'd) */
    int fd;          /* member: an open fd of its archive, else -1 */
    uint64_t offset; /* member: where its GGUF lies in fd */
    uint64_t size;
} lf_model_source;
/* 1: found; 0: spec is NULL and the executable holds no .gguf (callers
 * print their usage line); -1: error in err. */
int lf_model_locate(const char *spec, lf_model_source *src, lf_error *err);
void lf_model_source_free(lf_model_source *src);
/* lf_gguf_open for any spec lf_model_locate accepts (spec must not be NULL). */
lf_gguf *lf_gguf_open_any(const char *spec, lf_error *err);

/* .args: splits text into arguments (whitespace-separated; '...' literal
 * and "..." C-escaped quoting; backslash escapes; # comments at the start
 * of a word; $VAR and ${VAR} from the environment, never split) and merges
 * them with the command line argc/argv: argv[0] first, then the arguments
 * of text, where the first bare ... is replaced by argv[1..] (without one,
 * argv[1..] goes at the end). The result is NULL-terminated; free it with
 * lf_args_free. Errors read ".args: line N: what". */
bool lf_args_merge(const char *text, size_t len, int argc, char **argv,
                   int *out_argc, char ***out_argv, lf_error *err);
/* The same with the running executable's .args member; without one, the
 * result is a copy of argv. *user_first (if not NULL) is the index where
 * argv[1..] landed, so the arguments outside [*user_first, *user_first +
 * argc - 1) came from .args. */
bool lf_args_load_self(int argc, char **argv, int *out_argc, char ***out_argv,
                       int *user_first, lf_error *err);
void lf_args_free(char **argv);

/* ------------------------------------------------------------- the system */

/* Path of the running executable (readlink of /proc/self/exe), copied into
 * buf; false if it cannot be found or does not fit. */
bool lf_self_exe_path(char *buf, size_t n, lf_error *err);
/* The CPU features this machine offers and the OS enabled that kernels may
 * use, space-separated, e.g. "SSE3 SSSE3 AVX AVX2 FMA F16C AVX512 ...". */
const char *lf_cpu_features(void);
/* The matrix-product kernel set in use: "avx512vnni", "avx512", "avx2" or
 * "generic" (the environment variable LLAMAFILE_KERNELS picks a lower one). */
const char *lf_kernel_isa(void);
/* One line describing the GPUs ("GPU: none detected (CPU only)", or the
 * CUDA devices found through the driver library, loaded at run time).
 * Returns the number of CUDA devices. Call it before starting threads: it
 * queries the driver in a child process so a faulty driver cannot crash
 * the caller. */
int lf_gpu_describe(char *buf, size_t n);

/* A file (or standard input when path is NULL) read whole, NUL-terminated,
 * its length in *len; pipes are fine. More than max bytes is an error
 * ("PATH: larger than the N MiB limit for text input"). Free the result. */
char *lf_read_text(const char *path, size_t max, size_t *len, lf_error *err);
#define LF_TEXT_MAX ((size_t)256 << 20) /* the limit the programs use */
/* fflush(stdout) that remembers why the first failure happened, for
 * lf_stdout_close's message; false if stdout has failed. */
bool lf_stdout_flush(void);
/* Flushes and closes stdout; false, with "cannot write output: REASON", if
 * anything written to it was lost (a full disk, a closed pipe). Programs
 * call it last, so their exit status tells whether the output is whole. */
bool lf_stdout_close(lf_error *err);

/* ------------------------------------------------------------------ models */

typedef struct lf_model lf_model;
typedef struct lf_context lf_context;

/* Loads a model from a GGUF file (or the first shard of a split model). */
lf_model *lf_model_load(const char *path, lf_error *err);
/* Loads the GGUF stored at [offset, offset+size) of an open file. */
lf_model *lf_model_load_fd(int fd, uint64_t offset, uint64_t size, const char *name,
                           lf_error *err);
/* Loads what a -m argument names: a GGUF file, a llamafile or zip holding
 * exactly one .gguf, ARCHIVE@MEMBER, or /zip/NAME inside this executable;
 * with spec NULL, the single .gguf inside this executable. */
lf_model *lf_model_load_any(const char *spec, lf_error *err);
/* The same, but only the GGUF and its vocabulary (for tokenizing): any
 * architecture, no tensors needed; such a model cannot make a context. */
lf_model *lf_model_load_vocab(const char *spec, lf_error *err);
bool lf_model_has_weights(const lf_model *m);
void lf_model_free(lf_model *m);

const char *lf_model_arch(const lf_model *m);
/* Comma-separated names of the architectures this build runs. */
const char *lf_supported_archs(void);
bool lf_arch_supported(const char *name);
int32_t lf_model_n_vocab(const lf_model *m);
int32_t lf_model_n_ctx_train(const lf_model *m);
int32_t lf_model_n_embd(const lf_model *m);
int32_t lf_model_n_layer(const lf_model *m);
uint64_t lf_model_n_params(const lf_model *m);
uint64_t lf_model_size(const lf_model *m);       /* bytes of weights */
/* How models loaded from now on hold their weight matrices. Generation
 * reads every weight per token, and reads them faster from a copy in
 * memory, repacked for the kernels, than from the file's mapping.
 * LF_REPACK_AT_LOAD (the default): lf_model_load copies them before it
 * returns. LF_REPACK_BACKGROUND: lf_model_load returns with them read
 * from the mapping, and every decode of a context after its first copies
 * some (for about 100 ms) before its forward passes and switches those to
 * their copies (logits are the same either way): the first token comes
 * sooner, the next ones slower until all are copied. LF_REPACK_OFF: they
 * stay mapped. LLAMAFILE_REPACK=0, =load or =background in the environment
 * overrides this. */
enum lf_repack { LF_REPACK_AT_LOAD, LF_REPACK_BACKGROUND, LF_REPACK_OFF };
void lf_set_repack(enum lf_repack mode);
/* One step of a background copy (about 100 ms on c's pool), for a program
 * with nothing else to do, such as a server between requests: true while
 * copies remain and this step made progress. */
bool lf_repack_step(lf_context *c);
/* The weight matrices copied out of the file into memory (and of those,
 * repacked for the kernels), their bytes and the time the copy took (-1
 * while a background copy is under way); none with LF_REPACK_OFF. */
void lf_model_held(const lf_model *m, int *n_held, uint64_t *bytes, int *n_packed, double *ms);
/* The model's GGUF, for metadata lookups. */
const lf_gguf *lf_model_gguf(const lf_model *m);

/* ------------------------------------------------------------ quantization
 * Requantizing a GGUF model the way llama-quantize does: the same type per
 * tensor for every file type ("mix"), the same quantizers, the same tensor
 * order and metadata. */

/* Model file types: llama.cpp's llama_ftype numbers, stored in
 * general.file_type. Only those this build can produce are listed. */
enum lf_ftype {
    LF_FTYPE_ALL_F32 = 0,
    LF_FTYPE_F16 = 1,
    LF_FTYPE_Q4_0 = 2,
    LF_FTYPE_Q4_1 = 3,
    LF_FTYPE_Q8_0 = 7,
    LF_FTYPE_Q5_0 = 8,
    LF_FTYPE_Q5_1 = 9,
    LF_FTYPE_Q2_K = 10,
    LF_FTYPE_Q3_K_S = 11,
    LF_FTYPE_Q3_K_M = 12,
    LF_FTYPE_Q3_K_L = 13,
    LF_FTYPE_Q4_K_S = 14,
    LF_FTYPE_Q4_K_M = 15,
    LF_FTYPE_Q5_K_S = 16,
    LF_FTYPE_Q5_K_M = 17,
    LF_FTYPE_Q6_K = 18,
    LF_FTYPE_IQ4_NL = 25,
    LF_FTYPE_IQ4_XS = 30,
    LF_FTYPE_BF16 = 32,
    LF_FTYPE_MXFP4_MOE = 38,
};

/* The file type of a llama-quantize type name (case-insensitive; "Q4_K" is
 * Q4_K_M, as in llama-quantize), or -1. */
int lf_ftype_from_name(const char *name);
/* The canonical name ("Q4_K_M") of a file type this build can produce, or
 * NULL. */
const char *lf_ftype_name(int ftype);
/* The tensor type most weights of the file type get (Q4_K for Q4_K_M). */
int lf_ftype_base_type(int ftype);
/* Every name lf_ftype_from_name accepts, in llama-quantize's order, NULL
 * terminated (for --help). */
extern const char *const lf_ftype_names[];

typedef struct lf_quantize_progress {
    int64_t i, n;                 /* output tensor i of n */
    const lf_gguf_tensor *tensor; /* as in the input */
    int type;                     /* its type in the output */
    int wanted;                   /* the mix's choice when a fallback replaced it, else -1 */
    uint64_t bytes;               /* its size in the output */
} lf_quantize_progress;

typedef struct lf_quantize_params {
    int ftype;
    bool pure;             /* every quantizable tensor gets the base type */
    bool allow_requantize; /* accept already-quantized input tensors */
    int n_threads;         /* 0: physical cores */
    /* Called after each tensor is written (may be NULL). */
    void (*progress)(void *ud, const lf_quantize_progress *pr);
    void *progress_ud;
} lf_quantize_params;

/* Reads in (a GGUF, or anything lf_gguf_open_any accepts), writes out. The
 * output appears atomically: nothing is left at out on failure. */
bool lf_model_quantize(const char *in, const char *out, const lf_quantize_params *p,
                       lf_error *err);

/* ------------------------------------------------------------ tokenization */

int32_t lf_token_bos(const lf_model *m);      /* -1 if none */
int32_t lf_token_eos(const lf_model *m);
bool lf_token_is_eog(const lf_model *m, int32_t token); /* end of generation */
bool lf_add_bos(const lf_model *m);

/* Tokenizes len bytes of text into out (capacity n_max). add_special adds
 * BOS/EOS as the model's metadata asks; parse_special turns the text of
 * special tokens (e.g. "<|im_start|>") into those tokens. Returns the number
 * of tokens, or minus the number needed when n_max is too small, or
 * INT64_MIN when out of memory. */
int64_t lf_tokenize(const lf_model *m, const char *text, size_t len, int32_t *out,
                    int64_t n_max, bool add_special, bool parse_special);
/* The same into a malloc'ed array sized to fit (with room for one more
 * token) stored in *out; returns the count, or -1 when out of memory. */
int64_t lf_tokenize_alloc(const lf_model *m, const char *text, size_t len, int32_t **out,
                          bool add_special, bool parse_special);
/* The bytes of one token; control tokens give "" unless special. Returns
 * the length, or minus the length needed when cap is too small. */
int64_t lf_token_to_piece(const lf_model *m, int32_t token, char *buf, size_t cap,
                          bool special);
/* Text of n tokens, as lf_token_to_piece would concatenate them, with the
 * tokenizer's leading-space rule applied. Return value as above. */
int64_t lf_detokenize(const lf_model *m, const int32_t *tokens, int64_t n, char *buf,
                      size_t cap, bool remove_special, bool unparse_special);

/* ---------------------------------------------------------- streaming text
 * Generated tokens become text one at a time. An lf_detok gives, for each
 * token, the bytes that are safe to show now: a UTF-8 character split over
 * tokens is held back until the token that completes it. Bytes that can
 * never be part of a valid character (a stray continuation byte, C0, C1,
 * F5..FF, a lead byte followed by a non-continuation) pass through as they
 * are, as llama.cpp's programs print them. So everything pushed out plus
 * lf_detok_flush's bytes is the pieces concatenated (lf_detokenize without
 * its BPE " ." cleanup), except an incomplete character at the very end,
 * which the flush gives as U+FFFD (EF BF BD). There is no piece-size limit. */

typedef struct lf_detok lf_detok;

/* special: control tokens are rendered (as in lf_token_to_piece).
 * strip_space: the first token's leading space is dropped where the vocab
 * adds a space prefix (SPM), as lf_detokenize does for a text that starts
 * here; false for a continuation of a prompt (what llama.cpp prints). */
lf_detok *lf_detok_new(const lf_model *m, bool special, bool strip_space, lf_error *err);
void lf_detok_free(lf_detok *d);
/* Back to the start of a text: held bytes dropped, the space rule again. */
void lf_detok_reset(lf_detok *d);
/* Adds a token (an id out of range adds nothing). *text points to the bytes
 * safe to emit now, valid until the next call on d; returns their count
 * (often 0), or -1 when out of memory (err). */
int64_t lf_detok_push(lf_detok *d, int32_t token, const char **text, lf_error *err);
/* At the end of the text: the held bytes, an incomplete character given as
 * U+FFFD; returns their count (0-3). Pushing may go on afterwards. */
int64_t lf_detok_flush(lf_detok *d, const char **text);

/* Stop strings: text goes in as it is generated, and what comes out never
 * includes a stop string nor a prefix of one that may still complete: a
 * tail that could begin a stop string is held until it cannot (then it is
 * emitted) or until the stop string completes (then it and everything
 * after it is dropped). When several complete, the one that ends first
 * wins (the longest, when several end at the same byte). Matching is on
 * bytes; with UTF-8 text and stop strings, output breaks only between
 * characters. */

typedef struct lf_stop_matcher lf_stop_matcher;

/* n stop strings (copied; NUL-terminated, none empty). n may be 0. */
lf_stop_matcher *lf_stop_matcher_new(const char *const *stops, int n, lf_error *err);
void lf_stop_matcher_free(lf_stop_matcher *s);
void lf_stop_matcher_reset(lf_stop_matcher *s);
/* Adds len bytes. *out points to the bytes now safe to emit, valid until
 * the next call on s; returns their count, or -1 when out of memory (err).
 * After a stop string was found, pushes emit nothing. */
int64_t lf_stop_matcher_push(lf_stop_matcher *s, const char *text, size_t len,
                             const char **out, lf_error *err);
/* Index of the stop string found, or -1 while none. */
int lf_stop_matcher_found(const lf_stop_matcher *s);
/* At the end of the text: the held tail (nothing once a stop was found). */
int64_t lf_stop_matcher_flush(lf_stop_matcher *s, const char **out);

/* ---------------------------------------------------------------- contexts */

typedef struct lf_context_params {
    int32_t n_ctx;      /* KV cache cells (0: the model's training context) */
    int32_t n_batch;    /* most tokens per forward pass (larger batches are split) */
    int32_t n_threads;  /* 0: physical cores */
    int32_t kv_type;    /* LF_TYPE_F16 (default) or LF_TYPE_F32 */
    uint32_t n_seq_max; /* sequences that may share the cache, ids 0..n_seq_max-1;
                         * 0 means 1; at most 64 (LF_KV_SEQ_MAX), above is refused */
    /* embeddings (see the embeddings section below) */
    bool embeddings;        /* output final hidden states instead of logits */
    int32_t pooling_type;   /* enum lf_pooling_type; UNSPECIFIED: the model's */
    int32_t embd_normalize; /* -1 none, 0 max-abs to int16 range, 1 taxicab,
                             * 2 euclidean (L2, the default), p > 2: p-norm */
} lf_context_params;

lf_context_params lf_context_default_params(void);
lf_context *lf_context_new(lf_model *m, const lf_context_params *p, lf_error *err);
void lf_context_free(lf_context *c);
int32_t lf_n_ctx(const lf_context *c);
int32_t lf_n_threads(const lf_context *c);

/* A batch of tokens: each with its position, its sequence and whether its
 * logits are wanted. */
typedef struct lf_batch {
    int32_t n_tokens;
    const int32_t *token;
    const int32_t *pos;
    const int32_t *seq_id;
    const int8_t *logits;
} lf_batch;

/* Runs the model over a batch, appending it to the KV cache. */
bool lf_decode(lf_context *c, const lf_batch *b, lf_error *err);

/* A cancel hook: lf_decode calls fn(user) on its own thread before each
 * ubatch and before each layer; once it returns true the decode stops
 * there (fn is not called again in that decode) and fails like any failed
 * batch (no logits, its tokens taken back out of the KV cache) with a
 * message that starts with "cancelled". fn NULL: no hook (the default). */
typedef bool (*lf_abort_fn)(void *user);
void lf_set_abort_callback(lf_context *c, lf_abort_fn fn, void *user);
/* Logits (n_vocab floats) of batch entry i of the last lf_decode; i < 0
 * counts from the end of the entries that requested logits. NULL if that
 * entry did not request them. */
const float *lf_get_logits_ith(lf_context *c, int32_t i);

/* ---- KV cache: sequences ----
 * A cached token belongs to a set of sequences (ids 0..n_seq_max-1, at most
 * 64): lf_kv_copy shares cells, it does not duplicate them. Positions are
 * half-open ranges [p0, p1); p0 < 0 means 0, p1 < 0 means to the end. Some
 * changes cannot be made in part: a sliding-window layer has already
 * evicted what lies more than a window behind, and a recurrent state
 * (granitehybrid's Mamba-2 layers) cannot be rewound. The calls below say
 * what they did: */
typedef enum lf_kv_status {
    LF_KV_DONE = 0,    /* done as asked */
    LF_KV_DROPPED = 1, /* could not be done in part: the sequence(s) it touched
                        * were removed whole (lf_kv_seq_pos_max then says -1);
                        * decode them again from position 0 */
    LF_KV_FAILED = -1, /* nothing was changed; err says why */
} lf_kv_status;
/* Removes the cached tokens of seq (all sequences if seq < 0) with
 * p0 <= pos < p1. DONE, or DROPPED when the rest of a sequence could not
 * be kept (a removal that is not a tail of the window, or any cut of a
 * recurrent state short of its start). A seq outside the context: DONE. */
lf_kv_status lf_kv_remove(lf_context *c, int32_t seq, int32_t p0, int32_t p1);
/* Largest position cached for seq, or -1. */
int32_t lf_kv_seq_pos_max(const lf_context *c, int32_t seq);
/* Smallest position every layer still holds for seq, or -1: with a sliding
 * window it is that of the window's oldest cell; with a recurrent state it
 * is the state's last position (a prefix cannot be kept without the
 * rest). */
int32_t lf_kv_seq_pos_min(const lf_context *c, int32_t seq);
/* The cached tokens of src with p0 <= pos < p1 also become dst's (shared
 * cells; a recurrent state is copied). DONE; DROPPED when dst lacks the
 * window its next position needs (src's was evicted) and was removed;
 * FAILED when an id is out of range, or for a recurrent state, when the
 * range does not hold src's last position (the state of a prefix is gone). */
lf_kv_status lf_kv_copy(lf_context *c, int32_t src, int32_t dst, int32_t p0, int32_t p1,
                        lf_error *err);
/* Removes every sequence but seq. */
void lf_kv_keep(lf_context *c, int32_t seq);
/* Adds delta to the positions of seq's cached tokens with p0 <= pos < p1,
 * re-applying RoPE to their cached keys (tokens moved below 0 are
 * removed; cells shared with other sequences are first copied, so the
 * others keep theirs). DONE; DROPPED when a sliding window then lacks
 * cells the sequence's next position needs (it was removed whole); FAILED
 * (nothing changed) when seq is out of range, the cache lacks free cells
 * for those copies, or the architecture cannot re-apply its RoPE. */
lf_kv_status lf_kv_shift(lf_context *c, int32_t seq, int32_t p0, int32_t p1, int32_t delta,
                         lf_error *err);

/* ---------------------------------------------------------------- sampling */

/* A sampler is a chain of stages over a candidates array, run in the order
 * they were added. Stages either edit logits (logit bias, penalties,
 * temperature, a custom stage such as a grammar), drop candidates (top-k,
 * typical, top-p, min-p) or select one (dist, greedy: the last stage). */
typedef struct lf_candidate {
    int32_t id;
    float logit;
    float p; /* set by the stages that compute a softmax (top-p, typical, dist) */
} lf_candidate;

typedef struct lf_candidates {
    lf_candidate *data;
    int32_t n;
    bool sorted;      /* data is in descending logit order */
    int32_t selected; /* index into data of the chosen token, -1 before */
} lf_candidates;

typedef struct lf_logit_bias {
    int32_t token;
    float bias; /* added to the logit; -INFINITY bans the token */
} lf_logit_bias;

typedef struct lf_sampler_params {
    float temp;             /* <= 0 (or NaN): greedy */
    int32_t top_k;          /* <= 0: off */
    float top_p;            /* >= 1: off */
    float min_p;            /* <= 0: off */
    float repeat_penalty;   /* 1: off */
    float presence_penalty; /* 0: off */
    float frequency_penalty;/* 0: off */
    int32_t penalty_last_n; /* tokens the penalties look back over (-1: every
                               accepted token, i.e. the context; 0: off) */
    uint64_t seed;          /* UINT64_MAX or 0xffffffff: a random seed */
    float typical_p;        /* >= 1: off */
    const lf_logit_bias *logit_bias; /* copied by lf_sampler_new */
    int32_t n_logit_bias;
} lf_sampler_params;

typedef struct lf_sampler lf_sampler;

lf_sampler_params lf_sampler_default_params(void);
/* The default chain from params, in llama.cpp's order: logit bias →
 * penalties → top-k → typical → top-p → min-p → temperature → dist; with
 * temp <= 0, logit bias → penalties → greedy. Stages that are off are left
 * out. */
lf_sampler *lf_sampler_new(const lf_sampler_params *p, int32_t n_vocab, lf_error *err);
void lf_sampler_free(lf_sampler *s);

/* An empty chain, to be built with lf_sampler_add_*. Every add fails (false)
 * when out of memory, when the chain is full (16 stages), or when it already
 * ends with dist or greedy. */
lf_sampler *lf_sampler_chain_new(int32_t n_vocab, lf_error *err);
/* Appends the default chain's stages from params (what lf_sampler_new
 * does), e.g. after a custom grammar stage. */
bool lf_sampler_add_params(lf_sampler *s, const lf_sampler_params *p, lf_error *err);
/* Adds bias to the logit of each listed token (entries for one token add
 * up). Fails on a token outside the vocabulary or a NaN bias. */
bool lf_sampler_add_logit_bias(lf_sampler *s, const lf_logit_bias *b, int32_t n,
                               lf_error *err);
/* For each token seen c > 0 times among the last last_n accepted ones:
 * logit <= 0 ? logit * repeat : logit / repeat, then minus
 * c * frequency + presence. last_n < 0: every accepted token. */
bool lf_sampler_add_penalties(lf_sampler *s, int32_t last_n, float repeat, float frequency,
                              float presence, lf_error *err);
/* Keeps the k largest logits (ties to the lower id), sorted; k <= 0: off. */
bool lf_sampler_add_top_k(lf_sampler *s, int32_t k, lf_error *err);
/* Keeps the shortest most-probable prefix whose probability reaches p. */
bool lf_sampler_add_top_p(lf_sampler *s, float p, lf_error *err);
/* Keeps the tokens whose probability is at least p times the largest. */
bool lf_sampler_add_min_p(lf_sampler *s, float p, lf_error *err);
/* Locally typical sampling: ranks tokens by |-log p - entropy| and keeps
 * the first of that order whose probability exceeds p (left unsorted). */
bool lf_sampler_add_typical(lf_sampler *s, float p, lf_error *err);
/* Divides the logits by t; t <= 0 keeps only the first largest. */
bool lf_sampler_add_temp(lf_sampler *s, float t, lf_error *err);
/* Selects at random by the softmax of the remaining candidates (sets p). */
bool lf_sampler_add_dist(lf_sampler *s, uint64_t seed, lf_error *err);
/* Selects the first of the largest logits, in the candidates' order. */
bool lf_sampler_add_greedy(lf_sampler *s, lf_error *err);
/* A stage of the caller's (the grammar hook): apply may lower logits, and
 * -INFINITY (or NaN) removes a candidate; accept sees every accepted token;
 * reset runs on lf_sampler_reset. accept and reset may be NULL. */
typedef void lf_stage_apply_fn(void *user, lf_candidates *c);
typedef void lf_stage_accept_fn(void *user, int32_t token);
typedef void lf_stage_reset_fn(void *user);
bool lf_sampler_add_custom(lf_sampler *s, lf_stage_apply_fn *apply, lf_stage_accept_fn *accept,
                           lf_stage_reset_fn *reset, void *user, lf_error *err);

/* lf_sampler_sample's results that are not tokens. NONFINITE: a logit is
 * NaN or +Inf, or every logit is -Inf: a broken model, not something to
 * sample from. NONE: a logit bias or custom stage removed every candidate,
 * or the chain has no dist/greedy stage (never from a chain that
 * lf_sampler_new built without logit biases). */
#define LF_SAMPLE_NONFINITE (-1)
#define LF_SAMPLE_NONE (-2)
/* Picks a token from logits (n_vocab floats) through the chain. */
int32_t lf_sampler_sample(lf_sampler *s, const float *logits);
/* Runs the chain over the caller's candidates (ids in the vocabulary):
 * -Inf and NaN logits are dropped first and +Inf taken as the largest
 * float; returns the selected token id (c->data[c->selected]) or
 * LF_SAMPLE_NONE. */
int32_t lf_sampler_apply(lf_sampler *s, lf_candidates *c);
/* Records a token of the context (prompt or generated) for the penalties
 * and custom stages. */
void lf_sampler_accept(lf_sampler *s, int32_t token);
/* Forgets the accepted tokens and reseeds. */
void lf_sampler_reset(lf_sampler *s);

/* The final distribution: the softmax over the logits of the candidates
 * left by the chain (those the dist/greedy stage chose from, after
 * temperature), as OpenAI's logprobs report it. Writes the chosen token's
 * probability to *chosen_p (0 if none was chosen; chosen_p may be NULL)
 * and the top_n most probable candidates to out, p descending (ties to the
 * lower id), with their final logits; returns how many (<= top_n). */
int32_t lf_candidates_probs(const lf_candidates *c, float *chosen_p, int32_t top_n,
                            lf_candidate *out);
/* The same for the candidates of the last lf_sampler_sample. */
int32_t lf_sampler_last_probs(const lf_sampler *s, float *chosen_p, int32_t top_n,
                              lf_candidate *out);

/* ---------------------------------------------------------------- harmony
 * gpt-oss's conversation format (OpenAI's harmony). An lf_harmony is the
 * encoding: the special tokens looked up in a model's own vocabulary, and
 * text <-> tokens with special tokens inserted by id, so user text such as
 * "<|start|>" stays plain text. It is read-only after lf_harmony_new and may
 * be shared by threads. */

typedef struct lf_harmony lf_harmony;

enum lf_harmony_special {
    LF_HARMONY_START,       /* <|start|>       200006 */
    LF_HARMONY_END,         /* <|end|>         200007 */
    LF_HARMONY_MESSAGE,     /* <|message|>     200008 */
    LF_HARMONY_CHANNEL,     /* <|channel|>     200005 */
    LF_HARMONY_CONSTRAIN,   /* <|constrain|>   200003 */
    LF_HARMONY_RETURN,      /* <|return|>      200002 */
    LF_HARMONY_CALL,        /* <|call|>        200012 */
    LF_HARMONY_STARTOFTEXT, /* <|startoftext|> 199998 (unused by harmony) */
    LF_HARMONY_ENDOFTEXT,   /* <|endoftext|>   199999 (not a stop token) */
    LF_HARMONY_N_SPECIAL
};

/* Fails ("vocabulary has no harmony token <|start|>") unless the model's
 * vocabulary has the seven harmony tokens <|start|> ... <|call|> as single
 * special tokens. Works on an lf_model_load_vocab model. */
lf_harmony *lf_harmony_new(const lf_model *m, lf_error *err);
void lf_harmony_free(lf_harmony *h);
const lf_model *lf_harmony_model(const lf_harmony *h);
/* The id of a special token, or -1 (only the two optional ones may be). */
int32_t lf_harmony_token(const lf_harmony *h, enum lf_harmony_special which);
/* The text of a special token ("<|start|>"), or NULL for a bad value. */
const char *lf_harmony_special_text(enum lf_harmony_special which);
int32_t lf_harmony_start(const lf_harmony *h);
int32_t lf_harmony_end(const lf_harmony *h);
int32_t lf_harmony_message(const lf_harmony *h);
int32_t lf_harmony_channel(const lf_harmony *h);
int32_t lf_harmony_constrain(const lf_harmony *h);
int32_t lf_harmony_return(const lf_harmony *h);
int32_t lf_harmony_call(const lf_harmony *h);
/* Tokens that end a message while parsing: <|return|>, <|call|>, <|end|>;
 * writes them to out (room for 3) and returns 3. */
int lf_harmony_stop_tokens(const lf_harmony *h, int32_t out[3]);
/* Tokens that stop sampling an assistant turn: <|return|>, <|call|>;
 * returns 2. */
int lf_harmony_stop_tokens_for_assistant_actions(const lf_harmony *h, int32_t out[2]);
bool lf_harmony_is_stop_token(const lf_harmony *h, int32_t token);
/* True for every special (control) token of the vocabulary: the harmony
 * tokens, <|reserved_N|>, <|endoftext|>. False for out-of-range ids. */
bool lf_harmony_is_special(const lf_harmony *h, int32_t token);

/* A growable token array (zero-initialize; lf_harmony_tokens_free). */
typedef struct lf_harmony_tokens {
    int32_t *v;
    int64_t n, cap;
} lf_harmony_tokens;
void lf_harmony_tokens_free(lf_harmony_tokens *t);
/* Appends len bytes of text tokenized as ordinary text (special-token text
 * stays text); false on out-of-memory. */
bool lf_harmony_append_text(const lf_harmony *h, lf_harmony_tokens *t, const char *text,
                            size_t len, lf_error *err);
bool lf_harmony_append_special(const lf_harmony *h, lf_harmony_tokens *t,
                               enum lf_harmony_special which, lf_error *err);
/* The bytes of n tokens, special tokens written as their text, into a
 * malloc'ed NUL-terminated string (length in *len if len is non-NULL).
 * Fails on an id outside the vocabulary. */
char *lf_harmony_decode(const lf_harmony *h, const int32_t *tokens, int64_t n, size_t *len,
                        lf_error *err);

/* The conversation. Strings are NUL-terminated UTF-8 and borrowed: a
 * conversation built by hand points at the caller's memory; one made by
 * lf_harmony_from_openai owns its strings (lf_harmony_convo_free). NULL
 * means "not set" everywhere. */
enum lf_harmony_role {
    LF_HARMONY_ROLE_SYSTEM,
    LF_HARMONY_ROLE_DEVELOPER,
    LF_HARMONY_ROLE_USER,
    LF_HARMONY_ROLE_ASSISTANT,
    LF_HARMONY_ROLE_TOOL,
};
/* "system" ... "tool". */
const char *lf_harmony_role_name(enum lf_harmony_role r);

enum lf_harmony_effort {
    LF_HARMONY_EFFORT_NONE = -1, /* no "Reasoning:" line */
    LF_HARMONY_EFFORT_LOW,
    LF_HARMONY_EFFORT_MEDIUM,
    LF_HARMONY_EFFORT_HIGH,
};

/* A function: parameters is a JSON Schema as JSON text (an object), or
 * NULL for a function without parameters ("() => any"). */
typedef struct lf_harmony_tool {
    const char *name;
    const char *description;
    const char *parameters;
} lf_harmony_tool;

/* A tool namespace ("functions", "browser", "python"). */
typedef struct lf_harmony_namespace {
    const char *name;
    const char *description; /* may hold several lines */
    const lf_harmony_tool *tools;
    int n_tools;
} lf_harmony_namespace;

/* System message content; lf_harmony_system_init fills the defaults:
 * identity "You are ChatGPT, a large language model trained by OpenAI.",
 * cutoff "2024-06", effort medium, channels analysis, commentary, final,
 * required; no date, no tools. */
typedef struct lf_harmony_system {
    const char *model_identity;
    const char *knowledge_cutoff;
    const char *conversation_start_date;
    enum lf_harmony_effort reasoning_effort;
    const lf_harmony_namespace *tools; /* built-in tools (browser, python) */
    int n_tools;
    const char *const *channels; /* NULL: no channel section */
    int n_channels;
    bool channel_required;
} lf_harmony_system;
void lf_harmony_system_init(lf_harmony_system *s);
/* The built-in tool namespaces with harmony's exact texts (static data). */
const lf_harmony_namespace *lf_harmony_browser_tool(void);
const lf_harmony_namespace *lf_harmony_python_tool(void);

/* Developer message content: "# Instructions" and "# Tools". */
typedef struct lf_harmony_developer {
    const char *instructions;
    const lf_harmony_namespace *tools; /* rendered sorted by name */
    int n_tools;
} lf_harmony_developer;

enum lf_harmony_content {
    LF_HARMONY_CONTENT_TEXT,
    LF_HARMONY_CONTENT_SYSTEM,
    LF_HARMONY_CONTENT_DEVELOPER,
};

typedef struct lf_harmony_msg {
    enum lf_harmony_role role;
    const char *name;         /* author name; a tool message's tool ("functions.f") */
    const char *channel;      /* "analysis", "commentary", "final" */
    const char *recipient;    /* "functions.f", "assistant", "python"; "all" = none */
    const char *content_type; /* "<|constrain|>json", "json", "code" */
    enum lf_harmony_content kind;
    const char *text; /* TEXT: text_len bytes (may hold NULs) */
    size_t text_len;
    const lf_harmony_system *system;       /* SYSTEM */
    const lf_harmony_developer *developer; /* DEVELOPER */
} lf_harmony_msg;

typedef struct lf_harmony_convo {
    const lf_harmony_msg *msgs;
    int64_t n;
    void *owned; /* lf_harmony_from_openai's storage; NULL when built by hand */
} lf_harmony_convo;
/* Frees a conversation from lf_harmony_from_openai (NULL is fine). */
void lf_harmony_convo_free(lf_harmony_convo *c);

/* The renderer. Analysis dropping: AUTO is openai/harmony's rule (only
 * when the last message is an assistant final answer: the analysis
 * messages before the first final message are dropped; a tool loop in
 * progress keeps everything), NONE keeps all, PRIOR_TURNS drops every
 * analysis message before the last user message (the docs' and the Jinja
 * template's behaviour). */
enum lf_harmony_drop {
    LF_HARMONY_DROP_AUTO,
    LF_HARMONY_DROP_NONE,
    LF_HARMONY_DROP_PRIOR_TURNS,
};
enum lf_harmony_mode {
    LF_HARMONY_FOR_COMPLETION, /* messages, then <|start|> + next_role */
    LF_HARMONY_FOR_TRAINING,   /* a final last <|end|> becomes <|return|> */
    LF_HARMONY_PLAIN,          /* the messages as they are */
};
typedef struct lf_harmony_render_opts {
    enum lf_harmony_mode mode;
    enum lf_harmony_role next_role; /* FOR_COMPLETION; usually ASSISTANT */
    enum lf_harmony_drop drop;
} lf_harmony_render_opts;

/* Renders c into toks (appended; may be NULL) and/or *text (a malloc'ed
 * NUL-terminated string, its length in *text_len; may be NULL). h is
 * needed only for tokens. Fails (never crashes) on a render over
 * LF_HARMONY_MAX_TEXT bytes, on a tool parameters that are not JSON. */
#define LF_HARMONY_MAX_TEXT ((size_t)256 << 20)
bool lf_harmony_render(const lf_harmony *h, const lf_harmony_convo *c,
                       const lf_harmony_render_opts *o, lf_harmony_tokens *toks, char **text,
                       size_t *text_len, lf_error *err);
/* One message, as it appears inside a conversation. */
bool lf_harmony_render_msg(const lf_harmony *h, const lf_harmony_msg *m, lf_harmony_tokens *toks,
                           char **text, size_t *text_len, lf_error *err);

/* OpenAI Chat Completions input -> a harmony conversation: json is either
 * a request object ({"messages", "tools", "reasoning_effort"}) or the
 * messages array. system/developer messages become developer instructions,
 * assistant reasoning_content an analysis message, assistant tool_calls
 * commentary messages to functions.NAME (<|constrain|>json), tool results
 * messages from functions.NAME to assistant. sys (NULL: defaults) gives
 * the system message's date, cutoff, identity. */
lf_harmony_convo *lf_harmony_from_openai(const char *json, size_t len,
                                         const lf_harmony_system *sys, lf_error *err);

/* ---- harmony parser ----
 * The model's harmony output, one token at a time, as events: a header
 * completes (role, author name, channel, recipient, content type), content
 * arrives as UTF-8 text, a message ends (and which token ended it). One
 * parser per stream; no global state. Memory is bounded by the current
 * message: finished messages are handed out, not kept. */

typedef struct lf_harmony_parser lf_harmony_parser;

enum lf_harmony_event_type {
    LF_HARMONY_EV_HEADER = 1, /* a header completed: msg has its fields */
    LF_HARMONY_EV_DELTA = 2,  /* text, len: new content (never a split character) */
    LF_HARMONY_EV_DONE = 3,   /* msg is the whole message; stop_token ended it */
};

typedef struct lf_harmony_event {
    int type;                  /* enum lf_harmony_event_type */
    const lf_harmony_msg *msg; /* the current message (kind TEXT; text so far) */
    const char *text;          /* DELTA only */
    size_t len;
    int32_t stop_token;        /* DONE only: <|end|>, <|call|>, <|return|>; -1 at EOS */
} lf_harmony_event;

/* At most this many events come from one token (or from EOS). */
#define LF_HARMONY_MAX_EVENTS 3
/* A header longer than this many tokens (or 16 KiB) is an error. */
#define LF_HARMONY_MAX_HEADER_TOKENS 512

enum lf_harmony_parse_state {
    LF_HARMONY_PS_EXPECT_START = 0, /* between messages: only <|start|> is expected */
    LF_HARMONY_PS_HEADER = 1,
    LF_HARMONY_PS_CONTENT = 2,
};

/* role: the role (enum lf_harmony_role) the prompt's last <|start|>
 * announced (ASSISTANT, the usual case: the parser begins inside that
 * header, the model writing "<|channel|>..."), or -1 to begin before a
 * <|start|>. strict: errors for
 * malformed output, as openai/harmony; non-strict (lenient) recovers: a stop
 * token inside the first header yields that text as a message, later broken
 * headers and tokens outside any message are skipped, an id outside the
 * vocabulary in content reads as U+FFFD. */
lf_harmony_parser *lf_harmony_parser_new(const lf_harmony *h, int role, bool strict,
                                         lf_error *err);
void lf_harmony_parser_free(lf_harmony_parser *p);
/* Feeds one token: writes the events it causes to ev (in the order
 * HEADER, DELTA, DONE) and returns their count, or -1 with err. Event
 * pointers stay valid until the next call on p. After an error the parser
 * goes on: a failed header leaves it waiting for <|start|>; an id outside
 * the vocabulary (or negative) changes nothing. */
int lf_harmony_parser_push(lf_harmony_parser *p, int32_t token,
                           lf_harmony_event ev[LF_HARMONY_MAX_EVENTS], lf_error *err);
/* End of stream: an open message is finished (held bytes of an incomplete
 * character become U+FFFD; stop_token -1). An open header is an error in
 * strict mode (dropped otherwise). The parser may be reused afterwards. */
int lf_harmony_parser_eos(lf_harmony_parser *p, lf_harmony_event ev[LF_HARMONY_MAX_EVENTS],
                          lf_error *err);
int lf_harmony_parser_state(const lf_harmony_parser *p); /* enum lf_harmony_parse_state */
/* The message being read (fields set once its header completed), or NULL
 * outside content. */
const lf_harmony_msg *lf_harmony_parser_current(const lf_harmony_parser *p);
/* Tokens skipped so far: non-strict recovery, and tokens that caused an error. */
int64_t lf_harmony_parser_n_skipped(const lf_harmony_parser *p);

/* Parses a whole completion (the tokens after the prompt, not the prompt)
 * into messages, then EOS: openai/harmony's
 * parse_messages_from_completion_tokens. *out gets a malloc'ed array of
 * *n messages (free with lf_harmony_msgs_free). In strict mode the first
 * error fails the call; non-strict, only out of memory does. */
bool lf_harmony_parse_completion(const lf_harmony *h, const int32_t *tokens, size_t n_tokens,
                                 int role, bool strict, lf_harmony_msg **out,
                                 size_t *n, lf_error *err);
void lf_harmony_msgs_free(lf_harmony_msg *msgs, size_t n);

/* ---- harmony to Chat Completions ----
 * Parsed assistant messages as one OpenAI chat completion message:
 * analysis → reasoning_content; final, and commentary without a
 * recipient (preambles) → content; commentary to functions.NAME →
 * tool_calls (name NAME, the content as arguments); calls to built-in
 * tools (python, browser.*, anything not functions.*) and messages not
 * from the assistant are left out. */

enum lf_harmony_route {
    LF_HARMONY_ROUTE_NONE = 0,      /* not shown: built-in tool calls, other authors */
    LF_HARMONY_ROUTE_REASONING = 1, /* reasoning_content */
    LF_HARMONY_ROUTE_CONTENT = 2,   /* content */
    LF_HARMONY_ROUTE_TOOL_CALL = 3, /* a tool_calls entry */
};
/* Where a message (a header is enough, for streaming) goes; for a tool
 * call, *name (if not NULL) points to the function name inside
 * msg->recipient. */
int lf_harmony_route_of(const lf_harmony_msg *msg, const char **name);

typedef struct lf_oai_tool_call {
    char *id;        /* "call_" + 24 letters and digits */
    char *name;
    char *arguments; /* the model's text, normally JSON */
} lf_oai_tool_call;

typedef struct lf_oai_message {
    char *content;           /* NULL when there is none */
    char *reasoning_content; /* NULL when there is none */
    lf_oai_tool_call *tool_calls;
    size_t n_tool_calls;
    const char *finish_reason; /* "tool_calls" when there are calls, else the caller's */
} lf_oai_message;

/* Fresh tool-call ids: "call_" then 24 characters from a generator that
 * *rng seeds and advances (a caller's counter: tests pass a fixed value; a
 * server seeds it once from the clock). rng NULL: seeded from the clock. */
void lf_harmony_tool_call_id(uint64_t *rng, char out[32]);
/* Joins several messages of one kind with "\n" between them. finish_reason
 * ("stop" or "length") is used when there are no tool calls. */
bool lf_harmony_to_openai(const lf_harmony_msg *msgs, size_t n, const char *finish_reason,
                          uint64_t *rng, lf_oai_message *out, lf_error *err);
void lf_oai_message_free(lf_oai_message *m);

/* ---- chat ---- */

/* Chat messages and chat templates: the conversation as OpenAI's API shapes
 * it, rendered to a prompt with the model's Jinja template exactly as Hugging
 * Face's apply_chat_template does. JSON crosses this API as text (UTF-8);
 * see docs/api.md for why. */

/* One part of a message whose content is a list ({"type": "text", "text":
 * ...}); text is NULL for parts that are not text (images, ...). */
typedef struct lf_chat_part {
    const char *type;
    const char *text;
} lf_chat_part;

/* One tool call of an assistant message. arguments is JSON text; with
 * arguments_object the template is given the parsed value (what most
 * templates expect), otherwise the text as a string (what OpenAI clients
 * send). From C, arguments NULL means "{}". */
typedef struct lf_chat_tool_call {
    const char *id;             /* NULL: none */
    const char *name;           /* the function's name */
    const char *arguments;
    bool arguments_object;
} lf_chat_tool_call;

/* A message. NULL strings are absent keys; content NULL with n_parts 0 is
 * null (e.g. an assistant message that only calls tools). */
typedef struct lf_chat_message {
    const char *role;
    const char *content;
    const lf_chat_part *parts;  /* content as a list of parts (content NULL) */
    size_t n_parts;
    const char *name;
    const lf_chat_tool_call *tool_calls;
    size_t n_tool_calls;
    const char *tool_call_id;   /* role "tool": the call it answers */
    const char *reasoning_content;
} lf_chat_message;

/* A conversation. Built from OpenAI-shaped JSON (every key of every message
 * is kept, in order, for the template: "thinking", "type", ...) or message
 * by message from C. Read-only once built: several threads may render it. */
typedef struct lf_chat_messages lf_chat_messages;
lf_chat_messages *lf_chat_messages_new(lf_error *err);
/* From a JSON array of message objects. Errors name the place:
 * "messages[2].tool_calls[0].function.name: expected a string". */
lf_chat_messages *lf_chat_messages_from_json(const char *json, size_t len, lf_error *err);
/* Appends a copy of m (its strings must be valid UTF-8). */
bool lf_chat_messages_add(lf_chat_messages *ms, const lf_chat_message *m, lf_error *err);
size_t lf_chat_messages_count(const lf_chat_messages *ms);
/* Message i, its strings owned by ms (NULL if i is out of range). */
const lf_chat_message *lf_chat_messages_at(const lf_chat_messages *ms, size_t i);
/* The messages as a JSON array (compact); free the result. */
char *lf_chat_messages_to_json(const lf_chat_messages *ms, size_t *len, lf_error *err);
void lf_chat_messages_free(lf_chat_messages *ms);

/* A parsed chat template with the bos_token / eos_token it is given. */
typedef struct lf_chat_template lf_chat_template;
/* From template text (a .jinja file); bos/eos NULL: "". Syntax errors
 * name the line and column. Free it with lf_chat_template_free. */
lf_chat_template *lf_chat_template_new(const char *text, size_t len, const char *bos_token,
                                       const char *eos_token, lf_error *err);
void lf_chat_template_free(lf_chat_template *t);
/* The model's template: name NULL is tokenizer.chat_template, a name N is
 * the variant tokenizer.chat_template.N (e.g. "tool_use"), an error if the
 * model has none of that name. With name NULL and no template at all, the
 * tool_use variant if there is one, else our ChatML fallback
 * (lf_chat_template_is_fallback). bos_token / eos_token are the texts of the
 * model's BOS / EOS tokens ("" if it has none). Parsed once and cached on
 * the model, which owns it (do not free it); safe from several threads. */
const lf_chat_template *lf_chat_template_from_model(const lf_model *m, const char *name,
                                                    lf_error *err);
/* The template a request uses: the tool_use variant when tools are given
 * (has_tools) and the model has one, else as lf_chat_template_from_model(m,
 * NULL). */
const lf_chat_template *lf_chat_template_for_request(const lf_model *m, bool has_tools,
                                                     lf_error *err);
bool lf_chat_template_is_fallback(const lf_chat_template *t);
/* Where it came from: "tokenizer.chat_template", "tokenizer.chat_template.
 * tool_use", "fallback (ChatML)" or "text". */
const char *lf_chat_template_origin(const lf_chat_template *t);
const char *lf_chat_template_bos(const lf_chat_template *t);
const char *lf_chat_template_eos(const lf_chat_template *t);
/* The fallback template's Jinja source. */
const char *lf_chat_fallback_template(void);

typedef struct lf_chat_params {
    const char *tools;          /* JSON array text; NULL or "null": none */
    bool add_generation_prompt;
    /* JSON object text: more template variables (enable_thinking,
     * reasoning_effort, a request's chat_template_kwargs), set last so they
     * override every other variable; NULL: none. */
    const char *kwargs;
    const char *bos_token;      /* NULL: the template's */
    const char *eos_token;
    bool pin_now;               /* strftime_now reads now instead of the clock */
    int64_t now;                /* seconds since the epoch, shown as local time */
} lf_chat_params;

/* Renders the prompt: the template given messages, tools (none if absent),
 * documents = none, add_generation_prompt, bos_token, eos_token, then the
 * kwargs. Returns malloc'd text (*len its length) or NULL with the error;
 * for the template's raise_exception(msg) the message is exactly msg and
 * *raised is set (raised may be NULL). The text may start with bos_token:
 * tokenize it without adding another BOS. p NULL: add_generation_prompt
 * and nothing else. */
char *lf_chat_apply(const lf_chat_template *t, const lf_chat_messages *ms,
                    const lf_chat_params *p, size_t *len, bool *raised, lf_error *err);
/* The model's prompt for messages: a model whose vocabulary has harmony's
 * special tokens (gpt-oss) is rendered by lf_chat_apply_harmony and *used
 * is set to NULL; any other with lf_chat_apply and
 * lf_chat_template_for_request (tools given and not an empty array), and
 * *used (may be NULL) tells which template that was. */
char *lf_chat_apply_model(const lf_model *m, const lf_chat_messages *ms,
                          const lf_chat_params *p, size_t *len, bool *raised,
                          const lf_chat_template **used, lf_error *err);
/* True when the model's vocabulary has harmony's special tokens. */
bool lf_chat_is_harmony(const lf_model *m);
/* Messages -> harmony (lf_harmony_from_openai, then lf_harmony_render):
 * p->tools are the function tools, p->kwargs may give reasoning_effort,
 * model_identity and builtin_tools (["browser", "python"]) as the gpt-oss
 * template reads them; the system message's date is today (p->now if
 * pinned); add_generation_prompt renders for completion (the assistant's
 * turn next), else for training; earlier turns' analysis is dropped as
 * the template does. bos/eos and the other kwargs are not used. */
char *lf_chat_apply_harmony(const lf_model *m, const lf_chat_messages *ms,
                            const lf_chat_params *p, size_t *len, lf_error *err);

/* ------------------------------------------------------------------- state
 * A sequence's state (its KV cells in every cache group and layer, and a
 * recurrent state where the model has one) saved to memory or a file and
 * restored later, into the same sequence or another, in this context or a
 * new one of the same model: a server swaps a slot out, a chat is resumed.
 * seq < 0 means every sequence, each restored to its own id. A restore
 * first checks the whole state (format version, checksums, the model's
 * shape, room in the cache); a state that is truncated, corrupt or from
 * another model is refused with a message and the context is unchanged.
 * Not to be called while lf_decode runs on the same context. */

/* Bytes lf_state_seq_get needs for seq now; 0 if seq is out of range. */
size_t lf_state_seq_size(const lf_context *c, int32_t seq);
/* Writes seq's state to dst (cap bytes); returns its size, or 0 (err). */
size_t lf_state_seq_get(const lf_context *c, int32_t seq, void *dst, size_t cap, lf_error *err);
/* Replaces seq's state with the one at src (size bytes; more is allowed);
 * returns the bytes read, or 0 (err) with the context unchanged. */
size_t lf_state_seq_set(lf_context *c, int32_t seq, const void *src, size_t size, lf_error *err);
/* Writes seq's state and the n_tokens tokens it holds (for resuming) to
 * path, atomically (the old file stays until the new one is complete). */
bool lf_state_seq_save_file(const lf_context *c, int32_t seq, const char *path,
                            const int32_t *tokens, size_t n_tokens, lf_error *err);
/* Restores seq from a file of lf_state_seq_save_file; its tokens go to
 * tokens (cap of them; more is an error; tokens NULL: not wanted) and their
 * count to *n_tokens (if not NULL). */
bool lf_state_seq_load_file(lf_context *c, int32_t seq, const char *path, int32_t *tokens,
                            size_t cap, size_t *n_tokens, lf_error *err);
/* -------------------------------------------------------------- embeddings
 * A context made with params.embeddings outputs the final hidden states
 * (after the output norm, before the output projection: n_embd floats per
 * token) instead of logits; lf_get_logits_ith then returns NULL. Attention
 * stays causal (decoder models; the non-causal attention of encoder-style
 * embedding models is not implemented yet).
 *
 * Pooling follows llama.cpp (--pooling, llama_get_embeddings_ith/_seq):
 *   NONE  one vector per batch entry whose logits flag is set, read with
 *         lf_get_embeddings_ith;
 *   MEAN  per sequence, the average of its tokens' states in the batch;
 *   CLS   per sequence, the state of its token with the lowest position in
 *         the batch (position 0 for a fresh sequence: the first token);
 *   LAST  per sequence, the state of its token with the highest position;
 * the pooled ones read with lf_get_embeddings_seq. A pooled context
 * outputs every token of a batch whatever its logits flags say, and pools
 * over that one lf_decode call only (over all its ubatches): decode a
 * sequence's whole text in one batch. Each vector given (per token, or
 * pooled) is normalised by embd_normalize as llama-embedding's
 * --embd-normalize does; lf_context_default_params sets 2 (unit length).
 * UNSPECIFIED takes the model's `<arch>.pooling_type` key, NONE when it is
 * absent; RANK (a classifier head) is refused. */
enum lf_pooling_type {
    LF_POOLING_TYPE_UNSPECIFIED = -1,
    LF_POOLING_TYPE_NONE = 0,
    LF_POOLING_TYPE_MEAN = 1,
    LF_POOLING_TYPE_CLS = 2,
    LF_POOLING_TYPE_LAST = 3,
    LF_POOLING_TYPE_RANK = 4, /* not supported */
};

/* The pooling a context applies (resolved from the model when the params
 * left it unspecified); NONE for a context without embeddings. */
int32_t lf_pooling_type(const lf_context *c);
/* n_embd floats of batch entry i of the last lf_decode (i < 0 counts from
 * the end of the output rows), valid until the next lf_decode or
 * lf_context_free. NULL when the context has no embeddings, pools, or the
 * entry had no logits flag. */
const float *lf_get_embeddings_ith(lf_context *c, int32_t i);
/* Every output row of the last lf_decode, [n_out][n_embd] in batch order
 * (pooling NONE), or NULL as above. */
const float *lf_get_embeddings(lf_context *c);
/* The pooled vector of sequence seq from the last lf_decode; NULL when the
 * context has no embeddings, pooling is NONE, or seq had no token in that
 * batch (or it failed). */
const float *lf_get_embeddings_seq(lf_context *c, int32_t seq);
/* out = in / norm(in) for n floats (out may be in); norm as embd_normalize
 * above (-1: a copy). A zero vector gives zeros. */
void lf_embd_normalize(const float *in, float *out, int32_t n, int32_t norm);

/* ---- grammar (GBNF) ----
 * Constrained output: a GBNF grammar (llama.cpp's syntax, see docs/api.md)
 * decides which tokens may come next. */
typedef struct lf_grammar lf_grammar;

/* Parses gbnf for the rule root (NULL: "root"). m gives the vocabulary
 * (token references, lf_grammar_apply, lf_grammar_accept_token) and may be
 * NULL for text-only matching. Errors read "gbnf:LINE:COL: message"
 * (column in code points) or "gbnf: message". */
lf_grammar *lf_grammar_new(const lf_model *m, const char *gbnf, const char *root,
                           lf_error *err);
void lf_grammar_free(lf_grammar *g);
/* Back to the start of the grammar. */
void lf_grammar_reset(lf_grammar *g);
/* Drops from c every candidate the grammar cannot accept next (keeping the
 * order): tokens whose text does not continue a match (a token may end
 * inside a UTF-8 character), end-of-generation tokens unless the grammar
 * can end here, control tokens unless a token reference allows them. */
void lf_grammar_apply(lf_grammar *g, lf_candidates *c);
/* Advances over a token; false (state unchanged) when it is not accepted.
 * An end-of-generation token is accepted, changing nothing, when the
 * grammar is complete. */
bool lf_grammar_accept_token(lf_grammar *g, int32_t token);
/* Advances over len bytes of text; false (state unchanged) if rejected. */
bool lf_grammar_accept_text(lf_grammar *g, const char *text, size_t len);
/* True when the text so far is a whole match of the root rule. */
bool lf_grammar_is_complete(const lf_grammar *g);

#define LF_GRAMMAR_REJECT 0   /* no text starting with this one matches */
#define LF_GRAMMAR_PREFIX 1   /* the start of a match, not a whole one */
#define LF_GRAMMAR_COMPLETE 2 /* a whole match (it may also go on) */
/* Matches text against a grammar in one call (for tests and tools):
 * returns one of the three above, or -1 with err set. */
int lf_grammar_check(const char *gbnf, const char *root, const char *text, size_t len,
                     lf_error *err);

/* Adds a grammar stage to a sampler chain (before top-k and the rest to
 * sample from what the grammar allows). Tokens accepted before the stage
 * first runs (the prompt) are not fed to the grammar; after that every
 * accepted token is; lf_sampler_reset starts the grammar over. Fails on a
 * grammar error, or when m's vocabulary size is not the sampler's. */
bool lf_sampler_add_grammar(lf_sampler *s, const lf_model *m, const char *gbnf,
                            const char *root, lf_error *err);

/* ---- tool calls ----
 * A model's tool calls, read from its output text: which format a chat
 * template's model writes (decided from the template text, as llama.cpp
 * decides it), then content, reasoning (gpt-oss) and calls as one OpenAI
 * assistant message (lf_oai_message, as lf_harmony_to_openai gives). A
 * call that does not parse (truncated, arguments that are not a JSON
 * object, an unknown shape) and everything after it come back as content;
 * markers inside a reasoning span (<think>...</think>,
 * <|START_THINKING|>..., [THINK]...) are text. See docs/tools.md. */

typedef enum lf_toolcall_format {
    LF_TOOLCALL_GENERIC = 0,      /* {"tool_calls": [...]} / {"response": ...}, else text */
    LF_TOOLCALL_HERMES,           /* <tool_call>{"name", "arguments"}</tool_call> (Qwen 2.5/3) */
    LF_TOOLCALL_QWEN3_CODER,      /* <tool_call><function=N><parameter=P>V</parameter>... */
    LF_TOOLCALL_LLAMA3,           /* {"name", "parameters"}; <|python_tag|> */
    LF_TOOLCALL_MISTRAL,          /* [TOOL_CALLS][{...}] or [TOOL_CALLS]N[ARGS]{...} */
    LF_TOOLCALL_GRANITE,          /* <|tool_call|>[{"name", "arguments"}] */
    LF_TOOLCALL_DEEPSEEK,         /* <｜tool▁calls▁begin｜>... (R1, V3, V3.1) */
    LF_TOOLCALL_FUNCTIONARY_V3_1, /* <function=N>{...}</function>; <|python_tag|> */
    LF_TOOLCALL_FUNCTIONARY_V3_2, /* >>>N\n{...}, >>>all\ntext */
    LF_TOOLCALL_FIREFUNCTION_V2,  /* functools[{...}] */
    LF_TOOLCALL_COMMAND_R7B,      /* <|START_ACTION|>[{"tool_name", "parameters"}]<|END_ACTION|> */
    LF_TOOLCALL_GPT_OSS,          /* harmony text: to=functions.N ... <|message|>{...} */
    LF_TOOLCALL_N_FORMATS
} lf_toolcall_format;

/* The format of a template's model (NULL: GENERIC). */
lf_toolcall_format lf_toolcall_detect(const char *template_text);
/* "hermes", "qwen3-coder", "llama3", ... ("unknown" out of range). */
const char *lf_toolcall_format_name(lf_toolcall_format f);
bool lf_toolcall_format_from_name(const char *name, lf_toolcall_format *out);

/* Parses a whole output (the text after the prompt; reasoning may still be
 * in it). content and reasoning_content are trimmed, NULL when empty;
 * each call has an id from lf_harmony_tool_call_id(rng), its name and its
 * arguments as JSON object text (the model's own text where it wrote
 * JSON); finish_reason is "tool_calls" with calls, else "stop" (the caller
 * knows when it was "length"). Free with lf_oai_message_free. Fails only
 * for out of memory, an unknown format or text over 64 MiB. */
bool lf_toolcall_parse(lf_toolcall_format f, const char *text, size_t n, uint64_t *rng,
                       lf_oai_message *out, lf_error *err);

/* The message as OpenAI's JSON: {"role":"assistant","content":...,
 * "reasoning_content":...,"tool_calls":[{"id","type":"function","function":
 * {"name","arguments"}}]} (content null when none; the other two only when
 * present; invalid UTF-8 becomes U+FFFD). malloc'd; *len may be NULL. */
char *lf_toolcall_to_openai_json(const lf_oai_message *m, size_t *len, lf_error *err);

/* Streaming: push the text as it is generated; the deltas add up to the
 * one-shot parse of the whole text (same ids for the same seed). Text that
 * may still become a call is held back; a call is sent once it is
 * complete, as a CALL delta (index, id, name) and then an ARGS delta (its
 * arguments), so a malformed call is never half sent. */
enum lf_toolcall_delta_kind {
    LF_TOOLCALL_DELTA_CONTENT = 0,
    LF_TOOLCALL_DELTA_REASONING = 1,
    LF_TOOLCALL_DELTA_CALL = 2,
    LF_TOOLCALL_DELTA_ARGS = 3,
};
typedef struct lf_toolcall_delta {
    int kind;         /* enum lf_toolcall_delta_kind */
    size_t index;     /* CALL, ARGS: which call */
    const char *id;   /* CALL */
    const char *name; /* CALL */
    const char *text; /* CONTENT, REASONING, ARGS: len bytes (not NUL-terminated) */
    size_t len;
} lf_toolcall_delta;
typedef struct lf_toolcall_stream lf_toolcall_stream;
/* seed: the id generator's state (copied); NULL: seeded from the clock. */
lf_toolcall_stream *lf_toolcall_stream_new(lf_toolcall_format f, const uint64_t *seed,
                                           lf_error *err);
/* Adds text (end: it is the last) and returns how many deltas *deltas
 * holds (valid until the next push or free), or -1 (err). The stream re-reads its
 * whole text on each push. Pushing after end is an error. */
int64_t lf_toolcall_stream_push(lf_toolcall_stream *s, const char *text, size_t n, bool end,
                                const lf_toolcall_delta **deltas, lf_error *err);
/* After end: the whole message, as lf_toolcall_parse gives it, with the
 * ids that were sent. */
bool lf_toolcall_stream_result(const lf_toolcall_stream *s, lf_oai_message *out, lf_error *err);
void lf_toolcall_stream_free(lf_toolcall_stream *s);

/* -------------------------------------------------------------- reasoning
 * A thinking model's answer split, as it streams, into reasoning and
 * content (docs/api.md, "Reasoning"). THINK: "<think>...</think>" at the
 * start of the answer (Qwen3, QwQ, DeepSeek-R1); HARMONY: gpt-oss's
 * analysis channel is reasoning, final (and preambles) content; NONE: all
 * content. Pieces come out in order through a callback, each push handing
 * out everything but a tail that may still become a marker, so the parts
 * do not depend on how the text was cut. One splitter per stream. */
enum lf_reasoning_format {
    LF_REASONING_NONE = 0,
    LF_REASONING_THINK = 1,
    LF_REASONING_HARMONY = 2,
};
enum lf_reasoning_part {
    LF_PART_REASONING = 1,
    LF_PART_CONTENT = 2,
};
/* Receives len (> 0) bytes of one part; text is valid during the call. */
typedef void (*lf_reasoning_emit)(void *ud, int part, const char *text, size_t len);

typedef struct lf_reasoning lf_reasoning;

/* "none", "think", "harmony"; NULL for another value. */
const char *lf_reasoning_format_name(int format);
/* HARMONY for a harmony vocabulary (lf_chat_is_harmony), THINK when the
 * model's tokenizer.chat_template mentions <think> or </think>, else NONE. */
int lf_reasoning_format_for(const lf_model *m);
/* THINK when the template text mentions <think> or </think>, else NONE. */
int lf_reasoning_format_for_template(const char *text, size_t len);
/* True when the rendered prompt ends (trailing whitespace aside) with
 * "<think>": the template opened the reasoning (DeepSeek-R1, QwQ), so the
 * output starts inside it. */
bool lf_reasoning_prompt_opens(const char *prompt, size_t len);

/* m: the model, needed for HARMONY (its harmony tokens) and for
 * lf_reasoning_push_token; NULL is fine for THINK / NONE fed text.
 * starts_in_reasoning: THINK only, the output begins inside reasoning. */
lf_reasoning *lf_reasoning_new(const lf_model *m, int format, bool starts_in_reasoning,
                               lf_error *err);
void lf_reasoning_free(lf_reasoning *r);
/* A new answer (held text dropped; harmony: a fresh parser). */
bool lf_reasoning_reset(lf_reasoning *r, bool starts_in_reasoning, lf_error *err);
int lf_reasoning_format(const lf_reasoning *r);
/* Inside reasoning now (THINK: after <think>, before </think>; HARMONY:
 * in an analysis message). */
bool lf_reasoning_in_reasoning(const lf_reasoning *r);
/* THINK / NONE: generated text (HARMONY refuses text). False only when out
 * of memory. */
bool lf_reasoning_push(lf_reasoning *r, const char *text, size_t len, lf_reasoning_emit emit,
                       void *ud, lf_error *err);
/* A generated token: HARMONY feeds the parser (lenient; false with err for
 * a token it reports, and the splitter goes on); THINK / NONE detokenize it
 * (special tokens not shown) and push the text. */
bool lf_reasoning_push_token(lf_reasoning *r, int32_t token, lf_reasoning_emit emit, void *ud,
                             lf_error *err);
/* End of the answer: a held partial marker is text of the part it was
 * in; HARMONY finishes the open message. */
bool lf_reasoning_finish(lf_reasoning *r, lf_reasoning_emit emit, void *ud, lf_error *err);
/* A whole THINK / NONE text: *reasoning and *content are malloc'd
 * NUL-terminated strings (possibly empty); free both. */
bool lf_reasoning_split(int format, bool starts_in_reasoning, const char *text, size_t len,
                        char **reasoning, char **content, lf_error *err);

/* ---- JSON Schema → GBNF ---- */

/* A JSON Schema (text) as a GBNF grammar whose `root` rule accepts JSON
 * documents that validate against it (a subset of them: see docs/api.md,
 * "JSON Schema to grammar"). Returns malloc'ed text the caller free()s, or
 * NULL with a message; an unsupported keyword is named with its place,
 * e.g. `at #/properties/tags: unsupported keyword "uniqueItems"`. */
char *lf_json_schema_to_gbnf(const char *schema_json, lf_error *err);
/* The same from a parsed jansson value (a `json_t *`; the schema is only
 * read). */
struct json_t;
char *lf_json_schema_value_to_gbnf(const struct json_t *schema, lf_error *err);

/* ---- model making (llamafile-mkmodel) ---- */

/* The types llama-quantize gives the n tensors of a model that is not
 * written yet: meta holds its metadata (architecture, block_count, head and
 * expert counts; its own tensors are ignored), tensors[i] a name, n_dims, ne
 * and the type it has unquantized (F32 for norms, F16 for weights); for
 * p->ftype and p->pure. types[i] gets tensor i's type and order[i] the
 * index of the i-th tensor in llama-quantize's output order. */
bool lf_quantize_types(const lf_gguf *meta, const lf_gguf_tensor *tensors, int64_t n,
                       const lf_quantize_params *p, int64_t *order, int *types,
                       lf_error *err);
/* Converts n_rows rows of ne0 floats to type (ne0 a multiple of its block
 * size; dst holds lf_type_row_bytes(type, ne0) bytes per row). */
bool lf_type_from_float(int type, const float *src, void *dst, int64_t n_rows, int64_t ne0,
                        lf_error *err);

/* ---- tool-call grammars ----
 * A GBNF grammar of a family's tool-call syntax whose arguments follow
 * the tools' `parameters` schemas: what the server constrains tool_choice
 * "required", a named function and (lazily, from the family's opening
 * marker) "auto" with. Every text it allows reads back through
 * lf_toolcall_parse of the same family as the calls it spells. Which
 * families have one, and what is not enforced: docs/tools.md. */
typedef struct lf_toolcall_gbnf {
    char *gbnf;          /* malloc'd; NULL: no grammar (auto in a family without a marker) */
    const char *root;    /* its root rule (static) */
    const char *trigger; /* LAZY: the text a call opens with; the grammar matches from it on */
    bool tokens;         /* has token references (gpt-oss): lf_grammar_new needs the model */
} lf_toolcall_gbnf;
#define LF_TOOLCALL_GRAMMAR_PARALLEL 1u /* one or more calls (else exactly one) */
#define LF_TOOLCALL_GRAMMAR_LAZY 2u     /* tool_choice "auto" */
/* The prompt opened <think>: the calls come after reasoning text and
 * </think> (not for LAZY or gpt-oss). */
#define LF_TOOLCALL_GRAMMAR_THINK 4u
/* tools_json: the request's `tools` array; only: a named function (NULL:
 * any tool); template_text (may be NULL) picks a family's variant
 * (Mistral's NAME[ARGS]{...} when it mentions [ARGS], DeepSeek V3.1's
 * shape when it has no ```json). Tools whose name the family cannot
 * write are left out. Fails on a schema the converter cannot express
 * (err names the tool and the keyword), when no tool is left, or out of
 * memory. Free with lf_toolcall_gbnf_free. */
bool lf_toolcall_grammar(lf_toolcall_format f, const char *template_text, const char *tools_json,
                         const char *only, unsigned flags, lf_toolcall_gbnf *out, lf_error *err);
void lf_toolcall_gbnf_free(lf_toolcall_gbnf *g);

/* ---- tool calls: eager streaming ----
 * For output constrained to well-formed calls (a grammar): a call goes
 * out as soon as its name is known (a CALL delta), then its arguments as
 * they are generated (ARGS deltas, which add up to exactly the arguments
 * lf_toolcall_parse gives), for the families whose arguments are the
 * model's own JSON text (all but qwen3-coder's XML parameters and python
 * code, which still come whole at the end). Call it before the first push.
 * Off (the default) a call is sent only once complete. On, what is sent
 * is never taken back: if the output turns out not to be a call after all
 * (cut off by max_tokens, no closing marker), the deltas already sent stay
 * sent and lf_toolcall_stream_result says what the final parse says. */
void lf_toolcall_stream_set_eager(lf_toolcall_stream *s, bool on);

#ifdef __cplusplus
}
#endif
#endif
