// Command golister lists tar archives exactly as Go's archive/tar Reader.Next() reads them.
//
// It is the oracle of buildguard's differential tests (tests/golister.py): moby, containerd
// and umoci all read layers with this package. Standard library only, so it builds offline.
//
// Input (stdin): any number of records, each an 8-byte big-endian length then that many
// bytes of one uncompressed tar. Output (stdout), per record: one JSON line per entry that
// Next() returned, then one line {"end": true, "error": ...} with the error that stopped
// the walk ("EOF" for io.EOF). Output is flushed after each record, so a caller can send
// one tar at a time and read its answer.
package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

type entry struct {
	Name      string            `json:"name"`     // base64 of the raw bytes
	Linkname  string            `json:"linkname"` // base64 of the raw bytes
	Typeflag  int               `json:"typeflag"`
	Size      int64             `json:"size"`   // Header.Size
	Copied    int64             `json:"copied"` // bytes io.Copy read from the entry
	Mode      int64             `json:"mode"`
	UID       int               `json:"uid"`
	GID       int               `json:"gid"`
	Mtime     int64             `json:"mtime"` // ModTime.Unix()
	MtimeNsec int               `json:"mtime_nsec"`
	Devmajor  int64             `json:"devmajor"`
	Devminor  int64             `json:"devminor"`
	Format    string            `json:"format"`
	PAX       map[string]string `json:"pax"` // base64 key -> base64 value
	SHA256    string            `json:"sha256"`
	Sparse    bool              `json:"sparse"` // data not copied (see sparse)
	CopyError *string           `json:"copy_error"`
}

type end struct {
	End   bool   `json:"end"`
	Error string `json:"error"`
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// sparse says whether the entry is a GNU sparse file (type S or GNU.sparse.* records): its
// data is copied (expanded) only when it is not type S and expands to at most 1 GiB.
func sparse(hdr *tar.Header) bool {
	if hdr.Typeflag == 'S' {
		return true
	}
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

// onlyReader hides Seek: layers reach the runtimes as a decompression stream.
type onlyReader struct{ io.Reader }

func list(data []byte, out *json.Encoder) error {
	tr := tar.NewReader(onlyReader{bytes.NewReader(data)})
	for {
		hdr, err := tr.Next()
		if err != nil {
			msg := err.Error()
			if errors.Is(err, io.EOF) {
				msg = "EOF"
			}
			return out.Encode(end{End: true, Error: msg})
		}
		h := sha256.New()
		var n int64
		var cerr error
		// Sparse data expands holes (Go's testdata: 60 GB): copied only up to the bound
		// buildguard expands (1 GiB, tarsparse.SPARSE_LIMIT); type S is refused anyway.
		if !sparse(hdr) || (hdr.Typeflag != 'S' && hdr.Size <= 1<<30) {
			n, cerr = io.Copy(h, tr)
		}
		e := entry{
			Name: b64(hdr.Name), Linkname: b64(hdr.Linkname), Typeflag: int(hdr.Typeflag),
			Size: hdr.Size, Copied: n, Mode: hdr.Mode, UID: hdr.Uid, GID: hdr.Gid,
			Mtime: hdr.ModTime.Unix(), MtimeNsec: hdr.ModTime.Nanosecond(),
			Devmajor: hdr.Devmajor, Devminor: hdr.Devminor, Format: hdr.Format.String(),
			PAX: map[string]string{}, SHA256: hex.EncodeToString(h.Sum(nil)), Sparse: sparse(hdr),
		}
		keys := make([]string, 0, len(hdr.PAXRecords))
		for k := range hdr.PAXRecords {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			e.PAX[b64(k)] = b64(hdr.PAXRecords[k])
		}
		if cerr != nil {
			msg := cerr.Error()
			e.CopyError = &msg
		}
		if err := out.Encode(e); err != nil {
			return err
		}
	}
}

func main() {
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	w := bufio.NewWriterSize(os.Stdout, 1<<16)
	out := json.NewEncoder(w)
	for {
		var size uint64
		if err := binary.Read(in, binary.BigEndian, &size); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			fmt.Fprintln(os.Stderr, "golister: reading a length:", err)
			os.Exit(2)
		}
		data := make([]byte, size)
		if _, err := io.ReadFull(in, data); err != nil {
			fmt.Fprintln(os.Stderr, "golister: reading a tar:", err)
			os.Exit(2)
		}
		if err := list(data, out); err != nil {
			fmt.Fprintln(os.Stderr, "golister:", err)
			os.Exit(2)
		}
		if err := w.Flush(); err != nil {
			os.Exit(2)
		}
	}
	if err := w.Flush(); err != nil {
		os.Exit(2)
	}
}
