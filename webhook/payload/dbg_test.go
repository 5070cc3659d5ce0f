package payload

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"
)

func TestDebugOne(t *testing.T) {
	for _, f := range []string{os.Getenv("F")} {
		data, _ := os.ReadFile(corpusDir + "/" + f)
		m := Parse(wireForm(data), time.Unix(0, 0), Options{OmitAttachments: true})
		m.Headers = nil
		b, _ := json.MarshalIndent(m, "", " ")
		fmt.Println(string(b))
	}
}
