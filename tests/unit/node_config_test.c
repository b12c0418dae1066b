/*
 * tests/unit/node_config_test.c — config.ini parsing, PBFT_* environment and
 * precedence, and errors that name the key and where it came from.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../node/config.h"

static const char *const good_ini = "; comment\n"
                                    "[node]\n"
                                    "replica = 2                 ; inline comment\n"
                                    "listen = tcp://127.0.0.1:27000\n"
                                    "http = 127.0.0.1:27001\n"
                                    "data_dir = data\n"
                                    "key_file = node_key.pem\n"
                                    "log_level = warn\n"
                                    "log_format = json\n"
                                    "verify_threads = 3\n"
                                    "mempool_max = 5000\n"
                                    "store_write_mb_per_s = 12\n"
                                    "[peers]\n"
                                    "0 = tcp://127.0.0.1:27000\n"
                                    "1 = tcp://127.0.0.1:27002\n"
                                    "2 = tcp://127.0.0.1:27004\n"
                                    "3 = tcp://127.0.0.1:27006\n";

static void load_good(node_config_t *c) {
    char err[CONFIG_ERR_SIZE_MAX] = "";
    config_defaults(c);
    snprintf(c->home, sizeof c->home, "/srv/n2");
    assert_int_equal(config_load_string(c, good_ini, "test.ini", err, sizeof err), PBFT_OK);
}

static void test_config_file_sets_every_key(void **state) {
    (void)state;
    node_config_t c;
    load_good(&c);
    assert_int_equal(c.replica, 2);
    assert_string_equal(c.listen, "tcp://127.0.0.1:27000");
    assert_string_equal(c.http, "127.0.0.1:27001");
    assert_int_equal(c.log_level, LOG_LEVEL_WARN);
    assert_int_equal(c.log_format, LOG_FORMAT_JSON);
    assert_int_equal(c.verify_threads, 3);
    assert_int_equal(c.mempool_max, 5000);
    assert_int_equal(c.store_write_mb_per_s, 12);
    assert_int_equal(c.peer_count, 4);
    assert_string_equal(c.peers[3], "tcp://127.0.0.1:27006");
}

static void test_finish_resolves_paths_against_home(void **state) {
    (void)state;
    node_config_t c;
    char err[CONFIG_ERR_SIZE_MAX] = "";
    load_good(&c);
    assert_int_equal(config_finish(&c, err, sizeof err), PBFT_OK);
    assert_string_equal(c.data_dir, "/srv/n2/data");
    assert_string_equal(c.key_file, "/srv/n2/node_key.pem");
    assert_string_equal(c.genesis_file, "/srv/n2/genesis.json");
}

static void test_env_overrides_file_and_flags_override_env(void **state) {
    (void)state;
    node_config_t c;
    char err[CONFIG_ERR_SIZE_MAX] = "";
    load_good(&c);
    const char *env[] = {"PATH=/bin",
                         "PBFT_HTTP=127.0.0.1:9999",
                         "PBFT_LOG_LEVEL=debug",
                         "PBFT_PEER_1=tcp://10.0.0.2:26602",
                         "PBFT_BIN=/not/a/key",
                         "PBFT_STORE_WRITE_MB_PER_S=3",
                         NULL};
    assert_int_equal(config_apply_env(&c, env, err, sizeof err), PBFT_OK);
    assert_int_equal(c.store_write_mb_per_s, 3);
    assert_string_equal(c.http, "127.0.0.1:9999");
    assert_int_equal(c.log_level, LOG_LEVEL_DEBUG);
    assert_string_equal(c.peers[1], "tcp://10.0.0.2:26602");
    assert_int_equal(config_set(&c, "node", "http", "127.0.0.1:8888", "--http", err, sizeof err),
                     PBFT_OK);
    assert_string_equal(c.http, "127.0.0.1:8888");
    assert_string_equal(c.listen, "tcp://127.0.0.1:27000"); /* untouched keep the file's */
}

static void test_bad_value_names_key_and_file(void **state) {
    (void)state;
    node_config_t c;
    char err[CONFIG_ERR_SIZE_MAX] = "";
    config_defaults(&c);
    pbft_status_t st =
        config_load_string(&c, "[node]\nverify_threads = lots\n", "/h/config.ini", err, sizeof err);
    assert_int_equal(st, PBFT_ERR_CONFIG);
    assert_non_null(strstr(err, "/h/config.ini"));
    assert_non_null(strstr(err, "verify_threads"));
    assert_non_null(strstr(err, "line 2"));
}

static void test_unknown_key_and_section_are_rejected(void **state) {
    (void)state;
    node_config_t c;
    char err[CONFIG_ERR_SIZE_MAX] = "";
    config_defaults(&c);
    assert_int_equal(config_load_string(&c, "[node]\nreplicas = 1\n", "x", err, sizeof err),
                     PBFT_ERR_CONFIG);
    assert_non_null(strstr(err, "replicas"));
    config_defaults(&c);
    assert_int_equal(config_load_string(&c, "[nodes]\nreplica = 1\n", "x", err, sizeof err),
                     PBFT_ERR_CONFIG);
    assert_non_null(strstr(err, "nodes"));
}

static void test_env_error_names_the_variable(void **state) {
    (void)state;
    node_config_t c;
    char err[CONFIG_ERR_SIZE_MAX] = "";
    config_defaults(&c);
    const char *env[] = {"PBFT_MEMPOOL_MAX=-5", NULL};
    assert_int_equal(config_apply_env(&c, env, err, sizeof err), PBFT_ERR_CONFIG);
    assert_non_null(strstr(err, "PBFT_MEMPOOL_MAX"));
}

static void test_numbers_are_strict_and_bounded(void **state) {
    (void)state;
    node_config_t c;
    char err[CONFIG_ERR_SIZE_MAX];
    config_defaults(&c);
    const char *bad[] = {"", "+1", " 1", "1x", "0x10", "99999999999", "-1", "257"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(config_set(&c, "node", "verify_threads", bad[i], "t", err, sizeof err),
                         PBFT_ERR_CONFIG);
    }
    assert_int_equal(config_set(&c, "node", "verify_threads", "256", "t", err, sizeof err),
                     PBFT_OK);
    assert_int_equal(config_set(&c, "node", "mempool_max", "0", "t", err, sizeof err),
                     PBFT_ERR_CONFIG);
    /* 0 = no cap; above CONFIG_STORE_WRITE_MB_MAX refused */
    assert_int_equal(c.store_write_mb_per_s, 0);
    assert_int_equal(config_set(&c, "node", "store_write_mb_per_s", "0", "t", err, sizeof err),
                     PBFT_OK);
    assert_int_equal(config_set(&c, "node", "store_write_mb_per_s", "100001", "t", err, sizeof err),
                     PBFT_ERR_CONFIG);
    assert_int_equal(config_set(&c, "node", "store_write_mb_per_s", "8M", "t", err, sizeof err),
                     PBFT_ERR_CONFIG);
    assert_int_equal(config_set(&c, "node", "replica", "16", "t", err, sizeof err),
                     PBFT_ERR_CONFIG);
}

static void test_addresses_are_validated(void **state) {
    (void)state;
    node_config_t c;
    char err[CONFIG_ERR_SIZE_MAX];
    config_defaults(&c);
    assert_int_equal(config_set(&c, "node", "http", "127.0.0.1", "t", err, sizeof err),
                     PBFT_ERR_CONFIG);
    assert_int_equal(config_set(&c, "node", "http", "127.0.0.1:70000", "t", err, sizeof err),
                     PBFT_ERR_CONFIG);
    assert_int_equal(config_set(&c, "node", "http", "[::1]:80", "t", err, sizeof err), PBFT_OK);
    assert_int_equal(config_set(&c, "node", "listen", "udp://1.2.3.4:5", "t", err, sizeof err),
                     PBFT_ERR_CONFIG);
    assert_int_equal(config_set(&c, "peers", "x", "tcp://a:1", "t", err, sizeof err),
                     PBFT_ERR_CONFIG);
    assert_int_equal(config_set(&c, "peers", "16", "tcp://a:1", "t", err, sizeof err),
                     PBFT_ERR_CONFIG);
}

static void test_finish_requires_contiguous_peers_and_replica_inside(void **state) {
    (void)state;
    node_config_t c;
    char err[CONFIG_ERR_SIZE_MAX];
    config_defaults(&c);
    assert_int_equal(config_load_string(&c,
                                        "[node]\nreplica = 0\n[peers]\n0 = tcp://a:1\n"
                                        "2 = tcp://a:3\n",
                                        "x", err, sizeof err),
                     PBFT_OK);
    assert_int_equal(config_finish(&c, err, sizeof err), PBFT_ERR_CONFIG);
    assert_non_null(strstr(err, "peer 1"));
    config_defaults(&c);
    assert_int_equal(config_load_string(&c, "[node]\nreplica = 1\n[peers]\n0 = tcp://a:1\n", "x",
                                        err, sizeof err),
                     PBFT_OK);
    assert_int_equal(config_finish(&c, err, sizeof err), PBFT_ERR_CONFIG);
    assert_non_null(strstr(err, "replica"));
    config_defaults(&c);
    assert_int_equal(config_load_string(&c, "[peers]\n0 = tcp://a:1\n", "x", err, sizeof err),
                     PBFT_OK);
    assert_int_equal(config_finish(&c, err, sizeof err), PBFT_ERR_CONFIG);
}

static void test_missing_file_is_an_io_error_naming_it(void **state) {
    (void)state;
    node_config_t c;
    char err[CONFIG_ERR_SIZE_MAX];
    config_defaults(&c);
    assert_int_equal(config_load_file(&c, "/nonexistent/pbft/config.ini", err, sizeof err),
                     PBFT_ERR_IO);
    assert_non_null(strstr(err, "/nonexistent/pbft/config.ini"));
}

static void test_syntax_error_reports_line(void **state) {
    (void)state;
    node_config_t c;
    char err[CONFIG_ERR_SIZE_MAX];
    config_defaults(&c);
    assert_int_equal(
        config_load_string(&c, "[node]\nreplica = 1\n[broken\n", "cfg", err, sizeof err),
        PBFT_ERR_CONFIG);
    assert_non_null(strstr(err, "cfg:3"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_file_sets_every_key),
        cmocka_unit_test(test_finish_resolves_paths_against_home),
        cmocka_unit_test(test_env_overrides_file_and_flags_override_env),
        cmocka_unit_test(test_bad_value_names_key_and_file),
        cmocka_unit_test(test_unknown_key_and_section_are_rejected),
        cmocka_unit_test(test_env_error_names_the_variable),
        cmocka_unit_test(test_numbers_are_strict_and_bounded),
        cmocka_unit_test(test_addresses_are_validated),
        cmocka_unit_test(test_finish_requires_contiguous_peers_and_replica_inside),
        cmocka_unit_test(test_missing_file_is_an_io_error_naming_it),
        cmocka_unit_test(test_syntax_error_reports_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
