/*
 * tests/fuzz/replay_main.c — runs a fuzz target over saved inputs without
 * libFuzzer, so the corpus doubles as a regression suite under gcc (and
 * under ASan+UBSan with SANITIZE=address,undefined).
 *
 *   fuzz-replay/fuzz_X PATH...   each PATH a file, or a directory whose
 *                                regular files (not dot files) are inputs
 *
 * Exits 0 when every input ran (a failing property aborts the process),
 * 2 when a path cannot be read: a corpus that silently vanished must not
 * pass as an empty success.
 */
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#define REPLAY_INPUT_SIZE_MAX (64u * 1024u * 1024u)

static int replay_file(const char *path, size_t *count) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "replay: cannot open %s: %s\n", path, strerror(errno));
        return 2;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || st.st_size < 0 ||
        (unsigned long long)st.st_size > REPLAY_INPUT_SIZE_MAX) {
        fprintf(stderr, "replay: %s: unreadable or larger than %u bytes\n", path,
                REPLAY_INPUT_SIZE_MAX);
        fclose(f);
        return 2;
    }
    size_t size = (size_t)st.st_size;
    /* Exactly `size` bytes, so ASan sees any read past the input's end. */
    uint8_t *data = malloc(size ? size : 1);
    if (data == NULL || fread(data, 1, size, f) != size) {
        fprintf(stderr, "replay: cannot read %s\n", path);
        free(data);
        fclose(f);
        return 2;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(data, size);
    free(data);
    (*count)++;
    return 0;
}

static int replay_dir(const char *path, size_t *count) {
    DIR *dir = opendir(path);
    if (dir == NULL) {
        fprintf(stderr, "replay: cannot open directory %s: %s\n", path, strerror(errno));
        return 2;
    }
    int rc = 0;
    struct dirent *entry;
    while (rc == 0 && (entry = readdir(dir)) != NULL) {
        if (entry->d_name[0] == '.') continue;
        size_t len = strlen(path) + 1 + strlen(entry->d_name) + 1;
        char *child = malloc(len);
        if (child == NULL) abort();
        snprintf(child, len, "%s/%s", path, entry->d_name);
        struct stat st;
        if (stat(child, &st) == 0 && S_ISREG(st.st_mode)) rc = replay_file(child, count);
        free(child);
    }
    closedir(dir);
    return rc;
}

int main(int argc, char **argv) {
    size_t count = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            return 2;
        }
        int rc = S_ISDIR(st.st_mode) ? replay_dir(argv[i], &count) : replay_file(argv[i], &count);
        if (rc != 0) return rc;
    }
    printf("replay: %zu inputs ran\n", count);
    return 0;
}
