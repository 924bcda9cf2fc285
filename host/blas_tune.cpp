// CLBlast's tuning API, for host/blas_tuning.c. CLBlast offers it in C++ only
// (clblast::TuneXgemm), so this one C++ file wraps it in a C function; the rest of the
// library stays C11. No exception leaves it.
#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <clblast.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>
#include <unordered_map>
#include <vector>

#include "blas_tune.h"

extern "C" int mrxcl_clblast_tune_xgemm(cl_command_queue queue, size_t m, size_t n, size_t k,
                                        double fraction, mrxcl_blas_params *out, char *err,
                                        size_t err_size)
{
    try {
        std::unordered_map<std::string, size_t> found;
        clblast::StatusCode st = clblast::TuneXgemm<float>(&queue, m, n, k, fraction, found);
        if (st != clblast::StatusCode::kSuccess) {
            std::snprintf(err, err_size, "CLBlast's Xgemm tuner failed with status %d",
                          static_cast<int>(st));
            return -1;
        }
        std::vector<std::string> names;
        for (const auto &kv : found)
            names.push_back(kv.first);
        std::sort(names.begin(), names.end());
        if (names.empty() || names.size() > MRXCL_BLAS_MAX_PARAMS) {
            std::snprintf(err, err_size, "CLBlast's Xgemm tuner gave %zu parameters", names.size());
            return -1;
        }
        out->count = 0;
        for (const auto &name : names) {
            if (name.size() >= sizeof out->names[0]) {
                std::snprintf(err, err_size, "CLBlast's Xgemm tuner named a parameter '%s'",
                              name.c_str());
                return -1;
            }
            std::snprintf(out->names[out->count], sizeof out->names[0], "%s", name.c_str());
            out->values[out->count++] = found[name];
        }
        return 0;
    } catch (const std::exception &e) {
        std::snprintf(err, err_size, "CLBlast's Xgemm tuner: %s", e.what());
    } catch (...) {
        std::snprintf(err, err_size, "CLBlast's Xgemm tuner failed");
    }
    return -1;
}
