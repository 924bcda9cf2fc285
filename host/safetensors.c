/* A reader for the safetensors format: 8-byte little-endian header length, a JSON
 * header {name: {dtype, shape, data_offsets}, "__metadata__": {str: str}}, then the
 * tensor bytes. Every offset is checked against the buffer before use. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define ST_MAX_HEADER (100u << 20)

void st_free(st_file *f)
{
    int i;
    if (!f)
        return;
    for (i = 0; i < f->n_tensors; i++)
        free(f->tensors[i].name);
    for (i = 0; i < f->n_meta; i++) {
        free(f->meta_keys[i]);
        free(f->meta_values[i]);
    }
    free(f->tensors);
    free(f->meta_keys);
    free(f->meta_values);
    memset(f, 0, sizeof *f);
}

static int parse_metadata(const cJSON *meta, st_file *out)
{
    const cJSON *kv;
    int n = cJSON_GetArraySize(meta), i = 0;
    if (!cJSON_IsObject(meta))
        return mrxcl_fail(MRXCL_ERR_MODEL_FORMAT, "__metadata__ is not a JSON object");
    /* cJSON keeps both of two equal keys; a second __metadata__ would have replaced the
     * first's arrays (a leak) and silently won. Which one a writer meant is unknowable. */
    if (out->meta_keys)
        return mrxcl_fail(MRXCL_ERR_MODEL_FORMAT, "the header holds __metadata__ twice");
    out->meta_keys = calloc((size_t)n + 1, sizeof(char *));
    out->meta_values = calloc((size_t)n + 1, sizeof(char *));
    if (!out->meta_keys || !out->meta_values)
        return mrxcl_fail(MRXCL_ERR_OUT_OF_MEMORY, "out of memory reading the model header");
    cJSON_ArrayForEach(kv, meta)
    {
        if (!cJSON_IsString(kv))
            return mrxcl_fail(MRXCL_ERR_MODEL_FORMAT, "__metadata__ value of '%s' is not a string",
                              kv->string);
        out->meta_keys[i] = strdup(kv->string);
        out->meta_values[i] = strdup(kv->valuestring);
        if (!out->meta_keys[i] || !out->meta_values[i])
            return mrxcl_fail(MRXCL_ERR_OUT_OF_MEMORY, "out of memory reading the model header");
        out->n_meta = ++i;
    }
    return MRXCL_OK;
}

static int parse_tensor(const cJSON *item, const unsigned char *base, size_t data_size,
                        st_tensor *t)
{
    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(item, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(item, "shape");
    const cJSON *offs = cJSON_GetObjectItemCaseSensitive(item, "data_offsets");
    const cJSON *dim;
    double begin, end;
    size_t numel = 1;

    t->name = strdup(item->string);
    if (!t->name)
        return mrxcl_fail(MRXCL_ERR_OUT_OF_MEMORY, "out of memory reading the model header");
    if (!cJSON_IsString(dtype) || !cJSON_IsArray(shape) || !cJSON_IsArray(offs) ||
        cJSON_GetArraySize(offs) != 2)
        return mrxcl_fail(MRXCL_ERR_MODEL_FORMAT,
                          "tensor '%s': header entry lacks dtype, shape or data_offsets", t->name);
    if (strcmp(dtype->valuestring, "F32") == 0)
        t->dtype_size = 4;
    else if (strcmp(dtype->valuestring, "F16") == 0)
        t->dtype_size = 2;
    else
        return mrxcl_fail(MRXCL_ERR_MODEL_FORMAT,
                          "tensor '%s' has dtype %s; mrxcl reads F32 and F16 tensors", t->name,
                          dtype->valuestring);
    if (cJSON_GetArraySize(shape) > 4)
        return mrxcl_fail(MRXCL_ERR_MODEL_MISMATCH, "tensor '%s' has %d dimensions, at most 4 expected",
                          t->name, cJSON_GetArraySize(shape));
    cJSON_ArrayForEach(dim, shape)
    {
        if (!cJSON_IsNumber(dim) || dim->valuedouble < 0 || dim->valuedouble > 1e12)
            return mrxcl_fail(MRXCL_ERR_MODEL_FORMAT, "tensor '%s' has an invalid shape", t->name);
        t->shape[t->ndim++] = (long long)dim->valuedouble;
        numel *= (size_t)dim->valuedouble;
    }
    t->numel = numel;
    if (!cJSON_IsNumber(cJSON_GetArrayItem(offs, 0)) || !cJSON_IsNumber(cJSON_GetArrayItem(offs, 1)))
        return mrxcl_fail(MRXCL_ERR_MODEL_FORMAT, "tensor '%s' has invalid data_offsets", t->name);
    begin = cJSON_GetArrayItem(offs, 0)->valuedouble;
    end = cJSON_GetArrayItem(offs, 1)->valuedouble;
    if (begin < 0 || end < begin)
        return mrxcl_fail(MRXCL_ERR_MODEL_FORMAT, "tensor '%s' has invalid data_offsets", t->name);
    if (end > (double)data_size)
        return mrxcl_fail(MRXCL_ERR_MODEL_FORMAT,
                          "tensor '%s' ends at byte %.0f of the data but the file holds only %zu "
                          "(truncated file?)",
                          t->name, end, data_size);
    if ((size_t)(end - begin) != numel * (size_t)t->dtype_size)
        return mrxcl_fail(MRXCL_ERR_MODEL_FORMAT,
                          "tensor '%s' holds %.0f bytes but its shape and dtype need %zu", t->name,
                          end - begin, numel * (size_t)t->dtype_size);
    t->data = base + (size_t)begin;
    return MRXCL_OK;
}

int st_parse(const unsigned char *data, size_t size, st_file *out)
{
    uint64_t hlen = 0;
    cJSON *root = NULL;
    const cJSON *item;
    int i, n, rc = MRXCL_OK;

    memset(out, 0, sizeof *out);
    if (size < 8)
        return mrxcl_fail(MRXCL_ERR_MODEL_FORMAT, "model is %zu bytes, too short for safetensors", size);
    for (i = 7; i >= 0; i--)
        hlen = (hlen << 8) | data[i];
    if (hlen < 2 || hlen > ST_MAX_HEADER)
        return mrxcl_fail(MRXCL_ERR_MODEL_FORMAT,
                          "not a safetensors file (header length %llu)", (unsigned long long)hlen);
    if (hlen > size - 8)
        return mrxcl_fail(MRXCL_ERR_MODEL_FORMAT,
                          "safetensors header of %llu bytes runs past the end of the %zu-byte file "
                          "(truncated file?)",
                          (unsigned long long)hlen, size);
    root = cJSON_ParseWithLength((const char *)data + 8, (size_t)hlen);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return mrxcl_fail(MRXCL_ERR_MODEL_FORMAT, "safetensors header is not valid JSON");
    }
    n = cJSON_GetArraySize(root);
    out->tensors = calloc((size_t)n + 1, sizeof(st_tensor));
    if (!out->tensors) {
        rc = mrxcl_fail(MRXCL_ERR_OUT_OF_MEMORY, "out of memory reading the model header");
        goto done;
    }
    cJSON_ArrayForEach(item, root)
    {
        if (strcmp(item->string, "__metadata__") == 0) {
            rc = parse_metadata(item, out);
        } else if (!cJSON_IsObject(item)) {
            rc = mrxcl_fail(MRXCL_ERR_MODEL_FORMAT, "header entry '%s' is not an object", item->string);
        } else {
            rc = parse_tensor(item, data + 8 + hlen, size - 8 - (size_t)hlen,
                              &out->tensors[out->n_tensors]);
            out->n_tensors++;
        }
        if (rc)
            break;
    }
done:
    cJSON_Delete(root);
    if (rc)
        st_free(out);
    return rc;
}

st_tensor *st_find(st_file *f, const char *name)
{
    int i;
    for (i = 0; i < f->n_tensors; i++)
        if (strcmp(f->tensors[i].name, name) == 0)
            return &f->tensors[i];
    return NULL;
}

const char *st_meta(const st_file *f, const char *key)
{
    int i;
    for (i = 0; i < f->n_meta; i++)
        if (strcmp(f->meta_keys[i], key) == 0)
            return f->meta_values[i];
    return NULL;
}

static float half_to_float(uint16_t h)
{
    int sign = (h >> 15) & 1, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    float v;
    if (exp == 0)
        v = ldexpf((float)mant, -24);
    else if (exp == 31)
        v = mant ? NAN : INFINITY;
    else
        v = ldexpf((float)(mant | 0x400), exp - 25);
    return sign ? -v : v;
}

void st_read_f32(const st_tensor *t, float *dst)
{
    size_t i;
    /* safetensors is little-endian, as is every host we build for. */
    if (t->dtype_size == 4) {
        memcpy(dst, t->data, t->numel * 4);
        return;
    }
    for (i = 0; i < t->numel; i++) {
        uint16_t h = (uint16_t)(t->data[2 * i] | (t->data[2 * i + 1] << 8));
        dst[i] = half_to_float(h);
    }
}
