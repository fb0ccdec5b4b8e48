/*
 * token: the server's secret, and signing and checking the tokens made from
 * it (UPSTREAM.md "Tokens"); random ids. Owns the base64url codec and the
 * calls to OpenSSL's random generator. Never logs a token or the secret.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "server.h"

#define TOKEN_SECRET_MIN	16
#define TOKEN_SECRET_MAX	(64 * 1024)
#define TOKEN_MAC_LEN		32	/* HMAC-SHA256 */
#define TOKEN_PAYLOAD_MAX	(2 * ID_MAX + 2 + 20)

static unsigned char	*token_key;
static size_t		 token_keylen;

static const char token_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Read the secret file; fills *cause (to free) and returns -1 on error. */
int
token_open(const char *path, char **cause)
{
	unsigned char	*key = NULL;
	size_t		 len = 0;
	ssize_t		 n;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (asprintf(cause, "secret file %s: %s", path,
		    strerror(errno)) == -1)
			*cause = NULL;
		return -1;
	}
	if ((key = malloc(TOKEN_SECRET_MAX + 1)) == NULL)
		goto fail_errno;
	for (;;) {
		n = read(fd, key + len, TOKEN_SECRET_MAX + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto fail_errno;
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > TOKEN_SECRET_MAX) {
			if (asprintf(cause, "secret file %s: larger than %d "
			    "bytes", path, TOKEN_SECRET_MAX) == -1)
				*cause = NULL;
			goto fail;
		}
	}
	/* UPSTREAM.md: one trailing newline is not part of the secret. */
	if (len > 0 && key[len - 1] == '\n')
		len--;
	if (len < TOKEN_SECRET_MIN) {
		if (asprintf(cause, "secret file %s: secret is %zu bytes, "
		    "need at least %d", path, len, TOKEN_SECRET_MIN) == -1)
			*cause = NULL;
		goto fail;
	}
	close(fd);
	token_close();
	token_key = key;
	token_keylen = len;
	return 0;

fail_errno:
	if (asprintf(cause, "secret file %s: %s", path, strerror(errno)) == -1)
		*cause = NULL;
fail:
	if (key != NULL) {
		OPENSSL_cleanse(key, TOKEN_SECRET_MAX + 1);
		free(key);
	}
	close(fd);
	return -1;
}

/* Forget the secret. */
void
token_close(void)
{
	if (token_key != NULL) {
		OPENSSL_cleanse(token_key, token_keylen);
		free(token_key);
	}
	token_key = NULL;
	token_keylen = 0;
}

/* Whether s is a valid user or app id (1 to 64 of [A-Za-z0-9_.@-]). */
int
token_check_id(const char *s)
{
	size_t	 i;

	for (i = 0; s[i] != '\0'; i++) {
		if (i == ID_MAX)
			return 0;
		if ((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') ||
		    strchr("_.@-", s[i]) != NULL)
			continue;
		return 0;
	}
	return i > 0;
}

/*
 * Make a random id: prefix and 32 hex digits, in out[size]. Returns 0, or
 * -1 if it does not fit or the generator failed.
 */
int
token_random_id(char *out, size_t size, const char *prefix)
{
	unsigned char	 rnd[16];
	size_t		 i, n = strlen(prefix);

	if (size < n + 2 * sizeof rnd + 1 || RAND_bytes(rnd, sizeof rnd) != 1)
		return -1;
	memcpy(out, prefix, n);
	for (i = 0; i < sizeof rnd; i++)
		snprintf(out + n + 2 * i, 3, "%02x", rnd[i]);
	return 0;
}

/* Append base64url (no padding) of in[0 .. len) to out. */
static void
token_b64_encode(char *out, const unsigned char *in, size_t len)
{
	unsigned long	 v;
	size_t		 i;

	for (i = 0; i + 2 < len; i += 3) {
		v = (unsigned long)in[i] << 16 | in[i + 1] << 8 | in[i + 2];
		*out++ = token_b64[(v >> 18) & 63];
		*out++ = token_b64[(v >> 12) & 63];
		*out++ = token_b64[(v >> 6) & 63];
		*out++ = token_b64[v & 63];
	}
	if (len - i == 1) {
		v = (unsigned long)in[i] << 16;
		*out++ = token_b64[(v >> 18) & 63];
		*out++ = token_b64[(v >> 12) & 63];
	} else if (len - i == 2) {
		v = (unsigned long)in[i] << 16 | in[i + 1] << 8;
		*out++ = token_b64[(v >> 18) & 63];
		*out++ = token_b64[(v >> 12) & 63];
		*out++ = token_b64[(v >> 6) & 63];
	}
	*out = '\0';
}

/* The value of one base64url character, or -1. */
static int
token_b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/*
 * Decode canonical unpadded base64url in[0 .. len) into out (at most max
 * bytes). Returns the decoded length, or -1 if malformed or too long.
 */
static int
token_b64_decode(unsigned char *out, size_t max, const char *in, size_t len)
{
	unsigned long	 v = 0;
	size_t		 i, n = 0, bits = 0;
	int		 c;

	if (len % 4 == 1 || len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0) > max)
		return -1;
	for (i = 0; i < len; i++) {
		if ((c = token_b64_value(in[i])) == -1)
			return -1;
		v = (v << 6) | (unsigned long)c;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (v >> bits) & 0xff;
		}
	}
	/* Leftover bits must be zero: one encoding per byte string. */
	if ((v & ((1UL << bits) - 1)) != 0)
		return -1;
	return (int)n;
}

/* Compute the HMAC of a payload into mac. */
static int
token_mac(const unsigned char *payload, size_t len,
    unsigned char mac[TOKEN_MAC_LEN])
{
	unsigned int	 maclen = TOKEN_MAC_LEN;

	if (token_key == NULL)
		return -1;
	if (HMAC(EVP_sha256(), token_key, (int)token_keylen, payload, len,
	    mac, &maclen) == NULL || maclen != TOKEN_MAC_LEN)
		return -1;
	return 0;
}

/*
 * Make a token for user of app, valid until expiry (Unix seconds). Returns
 * 0 and a string in *out the caller frees, or -1 (bad id, no secret, out of
 * memory).
 */
int
token_sign(const char *app, const char *user, long long expiry, char **out)
{
	unsigned char	 payload[TOKEN_PAYLOAD_MAX + 1], mac[TOKEN_MAC_LEN];
	char		*tok;
	size_t		 plen;
	int		 n;

	*out = NULL;
	if (!token_check_id(app) || !token_check_id(user) || expiry < 0)
		return -1;
	n = snprintf((char *)payload, sizeof payload, "%s\n%s\n%lld", app,
	    user, expiry);
	if (n < 0 || (size_t)n >= sizeof payload)
		return -1;
	plen = (size_t)n;
	if (token_mac(payload, plen, mac) == -1)
		return -1;
	if ((tok = malloc((plen + 2) / 3 * 4 + 1 + 44 + 1)) == NULL)
		return -1;
	token_b64_encode(tok, payload, plen);
	n = (int)strlen(tok);
	tok[n++] = '.';
	token_b64_encode(tok + n, mac, sizeof mac);
	OPENSSL_cleanse(mac, sizeof mac);
	*out = tok;
	return 0;
}

/* Parse the payload "APP\nUSER\nEXPIRY" into t. */
static int
token_parse(const unsigned char *payload, size_t len, struct token *t)
{
	const char	*p = (const char *)payload, *end = p + len, *nl;
	char		*fields[2] = { t->app, t->user };
	size_t		 i, flen;

	for (i = 0; i < 2; i++) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			return -1;
		flen = (size_t)(nl - p);
		if (flen == 0 || flen > ID_MAX)
			return -1;
		memcpy(fields[i], p, flen);
		fields[i][flen] = '\0';
		if (!token_check_id(fields[i]))
			return -1;
		p = nl + 1;
	}
	/* EXPIRY: 1 to 18 decimal digits, nothing after. */
	if (p == end || end - p > 18)
		return -1;
	t->expiry = 0;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		t->expiry = t->expiry * 10 + (*p - '0');
	}
	return 0;
}

/*
 * Check a token at time now. Returns 0 and fills t, or -1 with *cause a
 * static string (malformed, bad signature, expired).
 */
int
token_verify(const char *tok, time_t now, struct token *t, const char **cause)
{
	unsigned char	 payload[TOKEN_PAYLOAD_MAX], mac[TOKEN_MAC_LEN];
	unsigned char	 want[TOKEN_MAC_LEN];
	const char	*dot;
	size_t		 len;
	int		 plen;

	*cause = "malformed token";
	memset(t, 0, sizeof *t);
	len = strnlen(tok, TOKEN_MAX + 1);
	if (len > TOKEN_MAX || (dot = strchr(tok, '.')) == NULL)
		return -1;
	plen = token_b64_decode(payload, sizeof payload, tok,
	    (size_t)(dot - tok));
	if (plen <= 0)
		return -1;
	if (token_b64_decode(mac, sizeof mac, dot + 1,
	    len - (size_t)(dot - tok) - 1) != TOKEN_MAC_LEN)
		return -1;
	if (token_mac(payload, (size_t)plen, want) == -1) {
		*cause = "cannot compute HMAC";
		return -1;
	}
	if (CRYPTO_memcmp(want, mac, sizeof mac) != 0) {
		*cause = "bad signature";
		return -1;
	}
	if (token_parse(payload, (size_t)plen, t) == -1)
		return -1;
	if (t->expiry <= (long long)now) {
		*cause = "expired token";
		return -1;
	}
	*cause = NULL;
	return 0;
}
