//go:build cgo

package pkcs11

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"

	p11 "github.com/miekg/pkcs11"
	"gocloud.dev/gcerrors"
	"gocloud.dev/secrets"
	"gocloud.dev/secrets/driver"
)

func init() { secrets.DefaultURLMux().RegisterKeeper(Scheme, &URLOpener{}) }

// URLOpener opens pkcs11:// URLs (see the package doc).
type URLOpener struct{}

// OpenKeeperURL opens the keeper u names.
func (*URLOpener) OpenKeeperURL(ctx context.Context, u *url.URL) (*secrets.Keeper, error) {
	o := Options{Token: u.Host, Key: strings.TrimPrefix(u.Path, "/")}
	for k, v := range u.Query() {
		switch k {
		case "module":
			o.Module = v[0]
		case "pin_file":
			b, err := os.ReadFile(v[0])
			if err != nil {
				return nil, fmt.Errorf("pkcs11: reading pin_file: %w", err)
			}
			o.PIN, _, _ = strings.Cut(strings.TrimRight(string(b), "\r\n"), "\n")
			o.PIN = strings.TrimRight(o.PIN, "\r")
		case "create":
			c, err := strconv.ParseBool(v[0])
			if err != nil {
				return nil, fmt.Errorf("pkcs11: create=%q is not a boolean", v[0])
			}
			o.Create = c
		case "pin", "so_pin", "pin-value", "pin_value":
			return nil, fmt.Errorf("pkcs11: a PIN must not be in the URL (parameter %q); use $%s or pin_file=", k, EnvPIN)
		default:
			return nil, fmt.Errorf("pkcs11: unknown URL parameter %q (known: module, pin_file, create)", k)
		}
	}
	if o.Token == "" || o.Key == "" || strings.Contains(o.Key, "/") {
		return nil, fmt.Errorf("pkcs11: want pkcs11://TOKENLABEL/KEYLABEL")
	}
	return OpenKeeper(ctx, o)
}

// OpenKeeper opens a keeper on the key o names.
func OpenKeeper(ctx context.Context, o Options) (*secrets.Keeper, error) {
	k, err := openKeeper(o)
	if err != nil {
		return nil, err
	}
	return secrets.NewKeeper(k), nil
}

// GenerateKey creates an AES-256 key with the given label on the token
// (for set-up and tests); it fails if the token already has a key with that
// label. An empty module or pin means $PKCS11_MODULE or $PKCS11_PIN.
func GenerateKey(ctx context.Context, module, token, pin, label string) error {
	k, err := openKeeperNoKey(Options{Module: module, Token: token, PIN: pin, Key: label})
	if err != nil {
		return err
	}
	defer k.Close()
	s, err := k.session()
	if err != nil {
		return err
	}
	defer k.release(s)
	if _, err := k.findKey(s); err == nil {
		return &tokenError{code: gcerrors.AlreadyExists, msg: fmt.Sprintf("pkcs11: token %q already has a key labelled %q", k.token, label)}
	}
	_, err = k.generate(s)
	return err
}

// module is one loaded PKCS#11 library, shared by every keeper using it.
type module struct {
	path string
	ctx  *p11.Ctx
	refs int
	// pins holds, per slot this process is logged in to, a hash of the PIN
	// it logged in with (guarded by modMu). PKCS#11 login is per
	// application, so a later keeper's PIN is checked against it.
	pins map[uint][32]byte
}

var (
	modMu   sync.Mutex
	modules = map[string]*module{}
)

func loadModule(path string) (*module, error) {
	modMu.Lock()
	defer modMu.Unlock()
	if m, ok := modules[path]; ok {
		m.refs++
		return m, nil
	}
	c := p11.New(path)
	if c == nil {
		return nil, &tokenError{code: gcerrors.NotFound, msg: fmt.Sprintf("pkcs11: cannot load module %q", path)}
	}
	if err := c.Initialize(); err != nil && !isCode(err, p11.CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		c.Destroy()
		return nil, wrapErr(fmt.Sprintf("initializing module %q", path), err)
	}
	m := &module{path: path, ctx: c, refs: 1, pins: map[uint][32]byte{}}
	modules[path] = m
	return m, nil
}

// login logs the process in to the token in slot, once: PKCS#11 login is
// per application, so later keepers on the token only have their PIN
// compared with the one that logged in.
func (m *module) login(s p11.SessionHandle, slot uint, pin string) error {
	modMu.Lock()
	defer modMu.Unlock()
	sum := sha256.Sum256([]byte(pin))
	if have, ok := m.pins[slot]; ok {
		if subtle.ConstantTimeCompare(have[:], sum[:]) != 1 {
			return p11.Error(p11.CKR_PIN_INCORRECT)
		}
		return nil
	}
	if err := m.ctx.Login(s, p11.CKU_USER, pin); err != nil && !isCode(err, p11.CKR_USER_ALREADY_LOGGED_IN) {
		return err
	}
	m.pins[slot] = sum
	return nil
}

func (m *module) release() error {
	modMu.Lock()
	defer modMu.Unlock()
	m.refs--
	if m.refs > 0 {
		return nil
	}
	delete(modules, m.path)
	err := m.ctx.Finalize()
	m.ctx.Destroy()
	if err != nil {
		return wrapErr("finalizing module", err)
	}
	return nil
}

// keeper is the driver.
type keeper struct {
	mod   *module
	slot  uint
	token string
	label string
	key   p11.ObjectHandle

	mu     sync.Mutex
	idle   []p11.SessionHandle
	closed bool
}

var _ driver.Keeper = (*keeper)(nil)

func openKeeperNoKey(o Options) (*keeper, error) {
	if o.Module == "" {
		o.Module = os.Getenv(EnvModule)
	}
	if o.Module == "" {
		return nil, fmt.Errorf("pkcs11: no module: set module= or $%s", EnvModule)
	}
	if o.PIN == "" {
		o.PIN = os.Getenv(EnvPIN)
	}
	if o.PIN == "" {
		return nil, fmt.Errorf("pkcs11: no PIN: set $%s or pin_file=", EnvPIN)
	}
	if o.Token == "" || o.Key == "" {
		return nil, errors.New("pkcs11: token label and key label are required")
	}
	m, err := loadModule(o.Module)
	if err != nil {
		return nil, err
	}
	k := &keeper{mod: m, token: o.Token, label: o.Key}
	if k.slot, err = findSlot(m.ctx, o.Token); err != nil {
		m.release()
		return nil, err
	}
	s, err := k.session()
	if err != nil {
		m.release()
		return nil, err
	}
	if err := m.login(s, k.slot, o.PIN); err != nil {
		m.ctx.CloseSession(s)
		m.release()
		return nil, wrapErr(fmt.Sprintf("login to token %q", o.Token), err) // the PIN is never in the message
	}
	k.release(s)
	return k, nil
}

func openKeeper(o Options) (*keeper, error) {
	k, err := openKeeperNoKey(o)
	if err != nil {
		return nil, err
	}
	s, err := k.session()
	if err == nil {
		k.key, err = k.findKey(s)
		if err != nil && o.Create && k.ErrorCode(err) == gcerrors.NotFound {
			k.key, err = k.generate(s)
		}
		k.release(s)
	}
	if err != nil {
		k.Close()
		return nil, err
	}
	return k, nil
}

func findSlot(c *p11.Ctx, label string) (uint, error) {
	slots, err := c.GetSlotList(true)
	if err != nil {
		return 0, wrapErr("listing slots", err)
	}
	var seen []string
	for _, s := range slots {
		ti, err := c.GetTokenInfo(s)
		if err != nil {
			continue
		}
		l := strings.TrimRight(ti.Label, " \x00")
		if l == label {
			return s, nil
		}
		seen = append(seen, l)
	}
	return 0, &tokenError{code: gcerrors.NotFound, msg: fmt.Sprintf("pkcs11: no token labelled %q (tokens present: %q)", label, seen)}
}

func (k *keeper) keyTemplate() []*p11.Attribute {
	return []*p11.Attribute{
		p11.NewAttribute(p11.CKA_CLASS, p11.CKO_SECRET_KEY),
		p11.NewAttribute(p11.CKA_KEY_TYPE, p11.CKK_AES),
		p11.NewAttribute(p11.CKA_LABEL, k.label),
	}
}

func (k *keeper) findKey(s p11.SessionHandle) (p11.ObjectHandle, error) {
	c := k.mod.ctx
	if err := c.FindObjectsInit(s, k.keyTemplate()); err != nil {
		return 0, wrapErr("finding key", err)
	}
	objs, _, err := c.FindObjects(s, 2)
	c.FindObjectsFinal(s)
	if err != nil {
		return 0, wrapErr("finding key", err)
	}
	switch len(objs) {
	case 0:
		return 0, &tokenError{code: gcerrors.NotFound, msg: fmt.Sprintf("pkcs11: token %q has no AES key labelled %q", k.token, k.label)}
	case 1:
		return objs[0], nil
	}
	return 0, &tokenError{code: gcerrors.FailedPrecondition, msg: fmt.Sprintf("pkcs11: token %q has several AES keys labelled %q", k.token, k.label)}
}

func (k *keeper) generate(s p11.SessionHandle) (p11.ObjectHandle, error) {
	tmpl := append(k.keyTemplate(),
		p11.NewAttribute(p11.CKA_TOKEN, true),
		p11.NewAttribute(p11.CKA_PRIVATE, true),
		p11.NewAttribute(p11.CKA_SENSITIVE, true),
		p11.NewAttribute(p11.CKA_EXTRACTABLE, false),
		p11.NewAttribute(p11.CKA_ENCRYPT, true),
		p11.NewAttribute(p11.CKA_DECRYPT, true),
		p11.NewAttribute(p11.CKA_VALUE_LEN, 32),
	)
	h, err := k.mod.ctx.GenerateKey(s, []*p11.Mechanism{p11.NewMechanism(p11.CKM_AES_KEY_GEN, nil)}, tmpl)
	if err != nil {
		return 0, wrapErr(fmt.Sprintf("generating key %q", k.label), err)
	}
	return h, nil
}

var errClosed = &tokenError{code: gcerrors.FailedPrecondition, msg: "pkcs11: keeper closed"}

// session takes an idle session or opens one.
func (k *keeper) session() (p11.SessionHandle, error) {
	k.mu.Lock()
	if k.closed {
		k.mu.Unlock()
		return 0, errClosed
	}
	if n := len(k.idle); n > 0 {
		s := k.idle[n-1]
		k.idle = k.idle[:n-1]
		k.mu.Unlock()
		return s, nil
	}
	k.mu.Unlock()
	s, err := k.mod.ctx.OpenSession(k.slot, p11.CKF_SERIAL_SESSION|p11.CKF_RW_SESSION)
	if err != nil {
		return 0, wrapErr("opening session", err)
	}
	return s, nil
}

func (k *keeper) release(s p11.SessionHandle) {
	if s == 0 {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		k.mod.ctx.CloseSession(s)
		return
	}
	k.idle = append(k.idle, s)
}

const (
	formatV1 = 0x01
	ivSize   = 12
	tagBits  = 128
)

// aad binds ciphertexts to this format.
var aad = []byte("civicport pkcs11 keeper v1")

func (k *keeper) Encrypt(ctx context.Context, plaintext []byte) ([]byte, error) {
	s, err := k.session()
	if err != nil {
		return nil, err
	}
	defer k.release(s)
	iv := make([]byte, ivSize)
	rand.Read(iv)
	params := p11.NewGCMParams(iv, aad, tagBits)
	defer params.Free()
	c := k.mod.ctx
	if err := c.EncryptInit(s, []*p11.Mechanism{p11.NewMechanism(p11.CKM_AES_GCM, params)}, k.key); err != nil {
		return nil, wrapErr("encrypt", err)
	}
	ct, err := c.Encrypt(s, plaintext)
	if err != nil {
		return nil, wrapErr("encrypt", err)
	}
	// A token in FIPS mode may ignore the IV given and generate its own
	// (CKM_AES_GCM with an IV generator); it writes it back into the
	// parameters, and that is the IV the ciphertext needs.
	if tokenIV := params.IV(); len(tokenIV) == ivSize {
		iv = tokenIV
	} else if len(tokenIV) != 0 {
		return nil, &tokenError{code: gcerrors.Internal, msg: fmt.Sprintf("pkcs11: encrypt: the token returned a %d-byte GCM IV, want %d", len(tokenIV), ivSize)}
	}
	out := make([]byte, 0, 1+ivSize+len(ct))
	out = append(out, formatV1)
	out = append(out, iv...)
	return append(out, ct...), nil
}

func (k *keeper) Decrypt(ctx context.Context, ciphertext []byte) ([]byte, error) {
	if len(ciphertext) < 1+ivSize+tagBits/8 || ciphertext[0] != formatV1 {
		return nil, &tokenError{code: gcerrors.InvalidArgument, msg: "pkcs11: not a pkcs11 keeper ciphertext"}
	}
	s, err := k.session()
	if err != nil {
		return nil, err
	}
	defer k.release(s)
	params := p11.NewGCMParams(ciphertext[1:1+ivSize], aad, tagBits)
	defer params.Free()
	c := k.mod.ctx
	if err := c.DecryptInit(s, []*p11.Mechanism{p11.NewMechanism(p11.CKM_AES_GCM, params)}, k.key); err != nil {
		return nil, wrapErr("decrypt", err)
	}
	pt, err := c.Decrypt(s, ciphertext[1+ivSize:])
	if err != nil {
		return nil, wrapErr("decrypt (wrong key or damaged ciphertext)", err)
	}
	return pt, nil
}

// Close closes the keeper's sessions and, if it was the last keeper on its
// module, finalizes the module.
func (k *keeper) Close() error {
	k.mu.Lock()
	if k.closed {
		k.mu.Unlock()
		return nil
	}
	k.closed = true
	idle := k.idle
	k.idle = nil
	k.mu.Unlock()
	for _, s := range idle {
		k.mod.ctx.CloseSession(s)
	}
	return k.mod.release()
}

func (k *keeper) ErrorAs(err error, i any) bool {
	if p, ok := i.(*p11.Error); ok {
		return errors.As(err, p)
	}
	return false
}

func (k *keeper) ErrorCode(err error) gcerrors.ErrorCode {
	var te *tokenError
	if errors.As(err, &te) {
		return te.code
	}
	return gcerrors.Unknown
}

// tokenError is an error with its gcerrors code; it unwraps to the
// pkcs11.Error the token returned, if any.
type tokenError struct {
	code gcerrors.ErrorCode
	msg  string
	err  error
}

func (e *tokenError) Error() string {
	if e.err != nil {
		return e.msg + ": " + e.err.Error()
	}
	return e.msg
}

func (e *tokenError) Unwrap() error { return e.err }

func isCode(err error, rv uint) bool {
	var pe p11.Error
	return errors.As(err, &pe) && uint(pe) == rv
}

func wrapErr(op string, err error) error {
	code := gcerrors.Internal
	var pe p11.Error
	if errors.As(err, &pe) {
		switch uint(pe) {
		case p11.CKR_PIN_INCORRECT, p11.CKR_PIN_LOCKED, p11.CKR_PIN_EXPIRED, p11.CKR_USER_NOT_LOGGED_IN, p11.CKR_KEY_FUNCTION_NOT_PERMITTED:
			code = gcerrors.PermissionDenied
		case p11.CKR_ENCRYPTED_DATA_INVALID, p11.CKR_ENCRYPTED_DATA_LEN_RANGE, p11.CKR_DATA_LEN_RANGE, p11.CKR_DATA_INVALID, p11.CKR_ARGUMENTS_BAD:
			code = gcerrors.InvalidArgument
		case p11.CKR_MECHANISM_INVALID, p11.CKR_MECHANISM_PARAM_INVALID:
			code = gcerrors.Unimplemented
		case p11.CKR_TOKEN_NOT_PRESENT, p11.CKR_SLOT_ID_INVALID, p11.CKR_OBJECT_HANDLE_INVALID, p11.CKR_KEY_HANDLE_INVALID:
			code = gcerrors.NotFound
		}
	}
	return &tokenError{code: code, msg: "pkcs11: " + op, err: err}
}
