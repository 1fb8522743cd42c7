// Command gojson is the test oracle for buildguard's Go-faithful JSON decoding: it reads
// one request per line on stdin ({"kind": ..., "data": base64}), json.Unmarshals the data
// into the structs the runtimes use, and writes one line per request: for each struct,
// what Go filled (json.Marshal of the struct) or the error Unmarshal returned.
//
// The structs are written here with the field names, types and JSON names of
// opencontainers/image-spec specs-go/v1, distribution manifest/schema2 and
// manifest/manifestlist, and moby image and image/tarexport. "omitempty" is left out:
// it changes only encoding, and the oracle must show every field Go filled.
// Standard library only (the tests build it offline).
package main

import (
	"bufio"
	"encoding/json"
	"os"
	"time"
	"unicode"
)

// image-spec specs-go/v1

type Platform struct {
	Architecture string   `json:"architecture"`
	OS           string   `json:"os"`
	OSVersion    string   `json:"os.version"`
	OSFeatures   []string `json:"os.features"`
	Variant      string   `json:"variant"`
}

type Descriptor struct {
	MediaType    string            `json:"mediaType"`
	Digest       string            `json:"digest"`
	Size         int64             `json:"size"`
	URLs         []string          `json:"urls"`
	Annotations  map[string]string `json:"annotations"`
	Data         []byte            `json:"data"`
	Platform     *Platform         `json:"platform"`
	ArtifactType string            `json:"artifactType"`
}

type Versioned struct {
	SchemaVersion int `json:"schemaVersion"`
}

type OCIManifest struct {
	Versioned
	MediaType    string            `json:"mediaType"`
	ArtifactType string            `json:"artifactType"`
	Config       Descriptor        `json:"config"`
	Layers       []Descriptor      `json:"layers"`
	Subject      *Descriptor       `json:"subject"`
	Annotations  map[string]string `json:"annotations"`
}

type OCIIndex struct {
	Versioned
	MediaType    string            `json:"mediaType"`
	ArtifactType string            `json:"artifactType"`
	Manifests    []Descriptor      `json:"manifests"`
	Subject      *Descriptor       `json:"subject"`
	Annotations  map[string]string `json:"annotations"`
}

type RootFS struct {
	Type    string   `json:"type"`
	DiffIDs []string `json:"diff_ids"`
}

type History struct {
	Created    *time.Time `json:"created"`
	CreatedBy  string     `json:"created_by"`
	Author     string     `json:"author"`
	Comment    string     `json:"comment"`
	EmptyLayer bool       `json:"empty_layer"`
}

type OCIImage struct {
	Created      *time.Time `json:"created"`
	Author       string     `json:"author"`
	Architecture string     `json:"architecture"`
	Variant      string     `json:"variant"`
	OS           string     `json:"os"`
	OSVersion    string     `json:"os.version"`
	OSFeatures   []string   `json:"os.features"`
	Config       *struct{}  `json:"config"`
	RootFS       RootFS     `json:"rootfs"`
	History      []History  `json:"history"`
}

// distribution manifest (v2.8)

type DistVersioned struct {
	SchemaVersion int    `json:"schemaVersion"`
	MediaType     string `json:"mediaType"`
}

type DistDescriptor struct {
	MediaType   string            `json:"mediaType"`
	Size        int64             `json:"size"`
	Digest      string            `json:"digest"`
	URLs        []string          `json:"urls"`
	Annotations map[string]string `json:"annotations"`
	Platform    *Platform         `json:"platform"`
}

type Schema2Manifest struct {
	DistVersioned
	Config DistDescriptor   `json:"config"`
	Layers []DistDescriptor `json:"layers"`
}

type PlatformSpec struct {
	Architecture string   `json:"architecture"`
	OS           string   `json:"os"`
	OSVersion    string   `json:"os.version"`
	OSFeatures   []string `json:"os.features"`
	Variant      string   `json:"variant"`
	Features     []string `json:"features"`
}

type ManifestDescriptor struct {
	DistDescriptor
	Platform PlatformSpec `json:"platform"`
}

type ManifestList struct {
	DistVersioned
	Manifests []ManifestDescriptor `json:"manifests"`
}

// moby image (20.10)

type MobyRootFS struct {
	Type    string   `json:"type"`
	DiffIDs []string `json:"diff_ids"`
}

type MobyHistory struct {
	Created    time.Time `json:"created"`
	Author     string    `json:"author"`
	CreatedBy  string    `json:"created_by"`
	Comment    string    `json:"comment"`
	EmptyLayer bool      `json:"empty_layer"`
}

type V1Image struct {
	ID              string    `json:"id"`
	Parent          string    `json:"parent"`
	Comment         string    `json:"comment"`
	Created         time.Time `json:"created"`
	Container       string    `json:"container"`
	ContainerConfig struct{}  `json:"container_config"`
	DockerVersion   string    `json:"docker_version"`
	Author          string    `json:"author"`
	Config          *struct{} `json:"config"`
	Architecture    string    `json:"architecture"`
	Variant         string    `json:"variant"`
	OS              string    `json:"os"`
	Size            int64     `json:"size"`
}

type MobyImage struct {
	V1Image
	Parent     string        `json:"parent"`
	RootFS     *MobyRootFS   `json:"rootfs"`
	History    []MobyHistory `json:"history"`
	OSVersion  string        `json:"os.version"`
	OSFeatures []string      `json:"os.features"`
}

// moby image/tarexport

type manifestItem struct {
	Config       string
	RepoTags     []string
	Layers       []string
	Parent       string
	LayerSources map[string]DistDescriptor
}

type request struct {
	Kind string `json:"kind"`
	Data []byte `json:"data"`
}

type result struct {
	Value json.RawMessage `json:"value"`
	Error *string         `json:"error"`
}

func decode(data []byte, v interface{}) result {
	if err := json.Unmarshal(data, v); err != nil {
		text := err.Error()
		return result{Value: json.RawMessage("null"), Error: &text}
	}
	out, err := json.Marshal(v)
	if err != nil {
		text := "marshal: " + err.Error()
		return result{Value: json.RawMessage("null"), Error: &text}
	}
	return result{Value: out}
}

// asciiFolds lists the runes above ASCII whose case fold (ToUpper(ToLower(r)), as Go 1.21's
// foldName computes it) is an ASCII letter.
func asciiFolds() []string {
	var out []string
	for r := rune(0x80); r <= unicode.MaxRune; r++ {
		f := unicode.ToUpper(unicode.ToLower(r))
		if f < 0x80 {
			out = append(out, string(r)+string(f))
		}
	}
	return out
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 64<<20)
	out := json.NewEncoder(os.Stdout)
	for in.Scan() {
		var req request
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			os.Stderr.WriteString("bad request: " + err.Error() + "\n")
			os.Exit(2)
		}
		answer := map[string]interface{}{}
		switch req.Kind {
		case "document":
			answer["oci-manifest"] = decode(req.Data, &OCIManifest{})
			answer["oci-index"] = decode(req.Data, &OCIIndex{})
			answer["schema2"] = decode(req.Data, &Schema2Manifest{})
			answer["manifestlist"] = decode(req.Data, &ManifestList{})
		case "config":
			answer["oci-image"] = decode(req.Data, &OCIImage{})
			answer["moby-image"] = decode(req.Data, &MobyImage{})
		case "save":
			var items []manifestItem
			answer["manifest-items"] = decode(req.Data, &items)
		case "folds":
			answer["folds"] = asciiFolds()
		default:
			os.Stderr.WriteString("unknown kind " + req.Kind + "\n")
			os.Exit(2)
		}
		if err := out.Encode(answer); err != nil {
			os.Exit(3)
		}
	}
}
