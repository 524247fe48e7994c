/* chat.h — the chat layer's internals shared by its files and the model
 * (which owns the cache of its parsed templates). */
#ifndef LF_TEXT_CHAT_H
#define LF_TEXT_CHAT_H

#include <jansson.h>

#include "llamafile.h"
#include "text/jinja/jinja.h"

/* The messages as the JSON array the templates see (borrowed). */
json_t *lf_chat_messages_json(const lf_chat_messages *ms);

/* "WHAT: invalid JSON at line L, column C: ..." on one line; false. */
bool lf_chat_json_error(lf_error *err, const char *what, const json_error_t *je);

/* The engine's parsed template. */
const lf_jinja *lf_chat_template_jinja(const lf_chat_template *t);

/* The parsed templates a model has handed out; freed with the model. */
typedef struct lf_chat_cache lf_chat_cache;
void lf_chat_cache_free(lf_chat_cache *c);

#endif
