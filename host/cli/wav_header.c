/* The header of a streamed WAV or RF64 file. See wav_header.h. */
#include "wav_header.h"

#include <string.h>

#include <sndfile.h>

/* The WAVE speaker positions (dwChannelMask bits, in bit order) and libsndfile's names
 * for them. */
static const int speaker_bits[18] = {
    SF_CHANNEL_MAP_LEFT,              SF_CHANNEL_MAP_RIGHT,
    SF_CHANNEL_MAP_CENTER,            SF_CHANNEL_MAP_LFE,
    SF_CHANNEL_MAP_REAR_LEFT,         SF_CHANNEL_MAP_REAR_RIGHT,
    SF_CHANNEL_MAP_FRONT_LEFT_OF_CENTER, SF_CHANNEL_MAP_FRONT_RIGHT_OF_CENTER,
    SF_CHANNEL_MAP_REAR_CENTER,       SF_CHANNEL_MAP_SIDE_LEFT,
    SF_CHANNEL_MAP_SIDE_RIGHT,        SF_CHANNEL_MAP_TOP_CENTER,
    SF_CHANNEL_MAP_TOP_FRONT_LEFT,    SF_CHANNEL_MAP_TOP_FRONT_CENTER,
    SF_CHANNEL_MAP_TOP_FRONT_RIGHT,   SF_CHANNEL_MAP_TOP_REAR_LEFT,
    SF_CHANNEL_MAP_TOP_REAR_CENTER,   SF_CHANNEL_MAP_TOP_REAR_RIGHT,
};

uint32_t wav_channel_mask(const int *sf_map, int channels)
{
    uint32_t mask = 0;
    for (int c = 0; c < channels; c++) {
        int bit = -1;
        for (int b = 0; b < 18; b++)
            if (speaker_bits[b] == sf_map[c])
                bit = b;
        /* libsndfile reads LEFT/RIGHT from a mask as FRONT_LEFT/FRONT_RIGHT too */
        if (sf_map[c] == SF_CHANNEL_MAP_FRONT_LEFT)
            bit = 0;
        if (sf_map[c] == SF_CHANNEL_MAP_FRONT_RIGHT)
            bit = 1;
        if (sf_map[c] == SF_CHANNEL_MAP_FRONT_CENTER)
            bit = 2;
        if (bit < 0 || (mask >> bit) != 0) /* WAVE orders channels by their bits */
            return 0;
        mask |= 1u << bit;
    }
    return mask;
}

typedef struct out {
    unsigned char *p;
} out;

static void put(out *o, const void *bytes, size_t n)
{
    memcpy(o->p, bytes, n);
    o->p += n;
}

static void u16(out *o, uint32_t v)
{
    unsigned char b[2] = {(unsigned char)v, (unsigned char)(v >> 8)};
    put(o, b, 2);
}

static void u32(out *o, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    put(o, b, 4);
}

static void u64(out *o, uint64_t v)
{
    u32(o, (uint32_t)v);
    u32(o, (uint32_t)(v >> 32));
}

size_t wav_header(unsigned char *buf, int channels, int rate, int bits, int is_float,
                  uint64_t frames, const int *sf_map)
{
    const uint32_t mask = sf_map ? wav_channel_mask(sf_map, channels) : 0;
    const int extensible = sf_map || channels > 2 || is_float || bits > 16;
    const uint32_t fmt_size = extensible ? 40 : 16;
    const uint32_t block = (uint32_t)channels * (uint32_t)(bits / 8);
    const uint64_t data = frames * block;
    /* RIFF's size counts from "WAVE": the fmt chunk, the ds64 chunk and the data */
    const int rf64 = data > 0xFFFFFFFFull - 1024;
    const uint64_t riff = 4 + (8 + fmt_size) + (rf64 ? 8 + 28 : 0) + 8 + data;
    out o = {buf};
    put(&o, rf64 ? "RF64" : "RIFF", 4);
    u32(&o, rf64 ? 0xFFFFFFFFu : (uint32_t)riff);
    put(&o, "WAVE", 4);
    if (rf64) {
        put(&o, "ds64", 4);
        u32(&o, 28);
        u64(&o, riff);
        u64(&o, data);
        u64(&o, frames);
        u32(&o, 0); /* no table of other chunks' sizes */
    }
    put(&o, "fmt ", 4);
    u32(&o, fmt_size);
    u16(&o, extensible ? 0xFFFE : 1);
    u16(&o, (uint32_t)channels);
    u32(&o, (uint32_t)rate);
    u32(&o, (uint32_t)rate * block);
    u16(&o, block);
    u16(&o, (uint32_t)bits);
    if (extensible) {
        /* cbSize, valid bits, mask, and the sub-format GUID (PCM 1 or IEEE float 3, then
         * the fixed tail 0000-0010-8000-00AA00389B71) */
        static const unsigned char guid_tail[14] = {0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80,
                                                    0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71};
        u16(&o, 22);
        u16(&o, (uint32_t)bits);
        u32(&o, mask);
        u16(&o, is_float ? 3 : 1);
        put(&o, guid_tail, sizeof guid_tail);
    }
    put(&o, "data", 4);
    u32(&o, rf64 ? 0xFFFFFFFFu : (uint32_t)data);
    return (size_t)(o.p - buf);
}
