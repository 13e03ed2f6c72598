/* voter: cookies only the key can make, address keys by network. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "voter.h"

static struct voter_key key, other;

static int setup(void **state)
{
    (void)state;
    if (sodium_init() < 0)
        return -1;
    randombytes_buf(key.bytes, sizeof(key.bytes));
    randombytes_buf(other.bytes, sizeof(other.bytes));
    return 0;
}

static void a_cookie_made_with_the_key_checks(void **state)
{
    (void)state;
    char cookie[VOTER_COOKIE_LEN + 1], id[VOTER_ID_HEX + 1];
    voter_cookie_make(&key, cookie);
    assert_int_equal(strlen(cookie), VOTER_COOKIE_LEN);
    assert_true(voter_cookie_check(&key, cookie, id));
    assert_int_equal(strlen(id), VOTER_ID_HEX);
    assert_memory_equal(id, cookie + 3, VOTER_ID_HEX);
}

static void two_cookies_are_two_voters(void **state)
{
    (void)state;
    char a[VOTER_COOKIE_LEN + 1], b[VOTER_COOKIE_LEN + 1];
    voter_cookie_make(&key, a);
    voter_cookie_make(&key, b);
    assert_memory_not_equal(a + 3, b + 3, VOTER_ID_HEX);
}

static void another_key_or_any_changed_byte_fails(void **state)
{
    (void)state;
    char cookie[VOTER_COOKIE_LEN + 1], id[VOTER_ID_HEX + 1];
    voter_cookie_make(&key, cookie);
    assert_false(voter_cookie_check(&other, cookie, id));
    for (size_t i = 0; i < VOTER_COOKIE_LEN; i++) {
        char changed[VOTER_COOKIE_LEN + 1];
        memcpy(changed, cookie, sizeof(changed));
        changed[i] = changed[i] == 'a' ? 'b' : 'a';
        assert_false(voter_cookie_check(&key, changed, id));
    }
}

static void wrong_shapes_fail(void **state)
{
    (void)state;
    char cookie[VOTER_COOKIE_LEN + 1], id[VOTER_ID_HEX + 1], longer[VOTER_COOKIE_LEN + 2];
    voter_cookie_make(&key, cookie);
    assert_false(voter_cookie_check(&key, NULL, id));
    assert_false(voter_cookie_check(&key, "", id));
    assert_false(voter_cookie_check(&key, "v1.", id));
    cookie[VOTER_COOKIE_LEN - 1] = '\0'; /* one short */
    assert_false(voter_cookie_check(&key, cookie, id));
    voter_cookie_make(&key, cookie);
    snprintf(longer, sizeof(longer), "%s0", cookie);
    assert_false(voter_cookie_check(&key, longer, id));
    /* the same id and MAC in capitals is not a cookie we made */
    for (char *p = cookie; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    assert_false(voter_cookie_check(&key, cookie, id));
}

static void an_ipv6_network_is_one_address(void **state)
{
    (void)state;
    char a[VOTER_ADDRESS_HEX + 1], b[VOTER_ADDRESS_HEX + 1], c[VOTER_ADDRESS_HEX + 1];
    voter_address_key(&key, "2001:db8:1:2:aaaa::1", a);
    voter_address_key(&key, "2001:db8:1:2:ffff:1:2:3", b);
    voter_address_key(&key, "2001:db8:1:3::1", c);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
}

static void a_mapped_ipv4_address_is_the_ipv4_one(void **state)
{
    (void)state;
    char a[VOTER_ADDRESS_HEX + 1], b[VOTER_ADDRESS_HEX + 1], c[VOTER_ADDRESS_HEX + 1];
    voter_address_key(&key, "::ffff:192.0.2.7", a);
    voter_address_key(&key, "192.0.2.7", b);
    voter_address_key(&key, "192.0.2.8", c);
    assert_string_equal(a, b);
    assert_string_not_equal(b, c);
}

static void address_keys_depend_on_the_key(void **state)
{
    (void)state;
    char a[VOTER_ADDRESS_HEX + 1], b[VOTER_ADDRESS_HEX + 1];
    voter_address_key(&key, "192.0.2.7", a);
    voter_address_key(&other, "192.0.2.7", b);
    assert_string_not_equal(a, b);
    assert_int_equal(strlen(a), VOTER_ADDRESS_HEX);
}

static void key_files_must_be_private_and_long_enough(void **state)
{
    (void)state;
    char path[] = "/tmp/portal-voter-key-XXXXXX", err[256];
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unsigned char secret[64];
    randombytes_buf(secret, sizeof(secret));
    assert_int_equal(write(fd, secret, 16), 16); /* too short */
    struct voter_key loaded;
    assert_int_equal(voter_key_load(path, &loaded, err, sizeof(err)), -1);
    assert_int_equal(write(fd, secret + 16, 48), 48);
    assert_int_equal(voter_key_load(path, &loaded, err, sizeof(err)), 0);
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(voter_key_load(path, &loaded, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "readable by others"));
    close(fd);
    unlink(path);
    assert_int_equal(voter_key_load(path, &loaded, err, sizeof(err)), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_cookie_made_with_the_key_checks),
        cmocka_unit_test(two_cookies_are_two_voters),
        cmocka_unit_test(another_key_or_any_changed_byte_fails),
        cmocka_unit_test(wrong_shapes_fail),
        cmocka_unit_test(an_ipv6_network_is_one_address),
        cmocka_unit_test(a_mapped_ipv4_address_is_the_ipv4_one),
        cmocka_unit_test(address_keys_depend_on_the_key),
        cmocka_unit_test(key_files_must_be_private_and_long_enough),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
