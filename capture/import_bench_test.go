package capture_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"leadflow/capture"
	"leadflow/store/storetest"
)

// boothFile is an n-row list whose content (and so hash) differs by seed.
func boothFile(seed, n int) []byte {
	var b bytes.Buffer
	b.WriteString("First Name,Last Name,Email,Company,Phone,Title\n")
	for i := range n {
		fmt.Fprintf(&b, "Ana%d,Lopez,ana.%d.%d@example.com,Acme %d,+1415555%04d,Buyer\n", i, seed, i, i%97, i%10000)
	}
	return b.Bytes()
}

// BenchmarkImportStage10k reads a 10,000-row file into an import: header
// check, parsing, normalisation and the COPY of its staged rows, in one
// transaction.
func BenchmarkImportStage10k(b *testing.B) {
	const rows = 10_000
	st := storetest.NewStore(b)
	ctx := context.Background()
	ws, err := st.EnsureWorkspace(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	proc, err := capture.NewProcessor(capture.ProcessorConfig{Store: st})
	if err != nil {
		b.Fatal(err)
	}
	im, err := capture.NewImporter(capture.ImporterConfig{Store: st, Resolver: proc})
	if err != nil {
		b.Fatal(err)
	}
	files := make([][]byte, b.N)
	for i := range files {
		files[i] = boothFile(i, rows)
	}
	b.ResetTimer()
	for i := range b.N {
		_, created, err := im.Create(ctx, capture.ImportRequest{WorkspaceID: ws.ID, Name: "booth", CreatedBy: "bench"},
			bytes.NewReader(files[i]))
		if err != nil || !created {
			b.Fatalf("create: %v (created %v)", err, created)
		}
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
}
