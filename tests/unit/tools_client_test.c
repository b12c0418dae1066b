/*
 * tests/unit/tools_client_test.c — the wallet's keystore and HTTP client:
 * key names cannot escape the keystore, keys are private and never
 * overwritten, and the client falls over to the next replica when one is down.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../tools/common/http.h"
#include "../../tools/common/json.h"
#include "../../tools/common/keystore.h"

static void test_key_names_cannot_escape_the_keystore(void **state) {
    (void)state;
    assert_true(tools_key_name_valid("alice"));
    assert_true(tools_key_name_valid("acct-5_b.2"));
    assert_false(tools_key_name_valid(""));
    assert_false(tools_key_name_valid("../alice"));
    assert_false(tools_key_name_valid("a/b"));
    assert_false(tools_key_name_valid(".hidden"));
    assert_false(tools_key_name_valid("sp ace"));
    char long_name[TOOLS_KEY_NAME_SIZE_MAX + 2];
    memset(long_name, 'a', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    assert_false(tools_key_name_valid(long_name));
}

static void test_keystore_keys_are_private_and_never_overwritten(void **state) {
    (void)state;
    char dir[] = "/tmp/pbft-keystore-test.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char ks[128], path[TOOLS_PATH_SIZE_MAX], err[512];
    snprintf(ks, sizeof(ks), "%s/ks", dir);
    crypto_key_t *key = NULL;
    assert_int_equal(tools_keystore_new(ks, "alice", &key, err, sizeof(err)), PBFT_OK);
    uint8_t pub1[PBFT_PUBKEY_SIZE], pub2[PBFT_PUBKEY_SIZE];
    crypto_key_public(key, pub1);
    crypto_key_free(key);
    struct stat st;
    assert_int_equal(stat(ks, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(tools_keystore_key_path(ks, "alice", path), PBFT_OK);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(tools_keystore_new(ks, "alice", NULL, err, sizeof(err)), PBFT_ERR_EXISTS);
    assert_int_equal(tools_keystore_load(ks, "alice", &key, err, sizeof(err)), PBFT_OK);
    crypto_key_public(key, pub2);
    crypto_key_free(key);
    assert_memory_equal(pub1, pub2, PBFT_PUBKEY_SIZE); /* the original key survived */
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(tools_keystore_load(ks, "alice", &key, err, sizeof(err)), PBFT_ERR_PERMISSION);
    assert_int_equal(tools_keystore_load(ks, "nobody", &key, err, sizeof(err)), PBFT_ERR_NOT_FOUND);
    assert_int_equal(tools_keystore_new(ks, "../evil", NULL, err, sizeof(err)), PBFT_ERR_ARGUMENT);
    assert_int_equal(tools_keystore_new(ks, "bob", NULL, err, sizeof(err)), PBFT_OK);
    char **names = NULL;
    size_t count = 0;
    assert_int_equal(tools_keystore_list(ks, &names, &count), PBFT_OK);
    assert_int_equal(count, 2);
    assert_string_equal(names[0], "alice");
    assert_string_equal(names[1], "bob");
    tools_keystore_list_free(names, count);
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* A one-shot HTTP server on 127.0.0.1 that answers every request with a
 * fixed JSON body, for as many connections as it is told. */
typedef struct one_server {
    int fd;
    int port;
    int connections;
    pthread_t thread;
} one_server_t;

static void *serve(void *arg) {
    one_server_t *s = arg;
    for (int i = 0; i < s->connections; i++) {
        int c = accept(s->fd, NULL, NULL);
        if (c < 0) break;
        char buf[4096];
        ssize_t n = recv(c, buf, sizeof(buf), 0);
        (void)n;
        const char *reply = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                            "Content-Length: 15\r\nConnection: close\r\n\r\n{\"height\":\"42\"}";
        ssize_t w = send(c, reply, strlen(reply), 0);
        (void)w;
        close(c);
    }
    return NULL;
}

static int listen_any(int *port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    socklen_t len = sizeof(a);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static void test_http_client_falls_over_to_the_next_replica(void **state) {
    (void)state;
    int dead_port = 0;
    int dead = listen_any(&dead_port); /* bound but not listening: connection refused */
    one_server_t s = {.connections = 2};
    s.fd = listen_any(&s.port);
    assert_int_equal(listen(s.fd, 4), 0);
    assert_int_equal(pthread_create(&s.thread, NULL, serve, &s), 0);
    char urls[128], err[512];
    snprintf(urls, sizeof(urls), "127.0.0.1:%d,http://127.0.0.1:%d/", dead_port, s.port);
    tools_http_t *c = tools_http_new(urls, 5000, err, sizeof(err));
    assert_non_null(c);
    assert_int_equal(tools_http_url_count(c), 2);
    tools_http_response_t r;
    assert_int_equal(tools_http_get(c, "/status", &r, err, sizeof(err)), PBFT_OK);
    assert_int_equal(r.status, 200);
    uint64_t height = 0;
    assert_true(tools_json_get_u64(r.json, "height", &height));
    assert_int_equal(height, 42);
    tools_http_response_free(&r);
    char expected[64];
    snprintf(expected, sizeof(expected), "http://127.0.0.1:%d", s.port);
    assert_string_equal(tools_http_current_url(c), expected);
    /* the client stays on the live replica */
    assert_int_equal(tools_http_get(c, "/status", &r, err, sizeof(err)), PBFT_OK);
    tools_http_response_free(&r);
    tools_http_free(c);
    pthread_join(s.thread, NULL);
    close(s.fd);
    /* now every replica is down */
    snprintf(urls, sizeof(urls), "127.0.0.1:%d,127.0.0.1:%d", dead_port, s.port);
    c = tools_http_new(urls, 2000, err, sizeof(err));
    assert_int_equal(tools_http_get(c, "/status", &r, err, sizeof(err)), PBFT_ERR_UNAVAILABLE);
    assert_non_null(strstr(err, "all 2 nodes failed"));
    tools_http_free(c);
    close(dead);
}

static void test_http_client_rejects_empty_and_dedupes_node_list(void **state) {
    (void)state;
    char err[256];
    assert_null(tools_http_new("", 1000, err, sizeof(err)));
    assert_null(tools_http_new(" , ,", 1000, err, sizeof(err)));
    tools_http_t *c =
        tools_http_new("127.0.0.1:1,http://127.0.0.1:1/,127.0.0.1:2", 1000, err, sizeof(err));
    assert_int_equal(tools_http_url_count(c), 2); /* the duplicate counts once */
    tools_http_free(c);
}

static void test_parse_u64_is_strict(void **state) {
    (void)state;
    uint64_t v = 0;
    assert_true(tools_parse_u64("18446744073709551615", &v));
    assert_true(v == UINT64_MAX);
    assert_false(tools_parse_u64("18446744073709551616", &v));
    assert_false(tools_parse_u64("-1", &v));
    assert_false(tools_parse_u64("12a", &v));
    assert_false(tools_parse_u64("", &v));
    assert_false(tools_parse_u64(" 1", &v));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_names_cannot_escape_the_keystore),
        cmocka_unit_test(test_keystore_keys_are_private_and_never_overwritten),
        cmocka_unit_test(test_http_client_falls_over_to_the_next_replica),
        cmocka_unit_test(test_http_client_rejects_empty_and_dedupes_node_list),
        cmocka_unit_test(test_parse_u64_is_strict),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
