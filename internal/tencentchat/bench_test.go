package tencentchat

import (
	"fmt"
	"strings"
	"testing"
)

// answer50 is a 50-account answer shaped like the service's, with the
// fields the exporter asks for.
func answer50() []byte {
	var b strings.Builder
	b.WriteString(`{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0,"OfficialAccountInfoList":[`)
	for i := range 50 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"ErrorCode":0,"ErrorInfo":"","Official_Account":"@TOA#_sim%05d","Name":"Sim News %05d","CreateTime":1696577604,"Owner_Account":"owner%03d","LastMsgTime":1699501664,"SubscriberNum":%d}`,
			i, i, i%37, 780031+i)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

func BenchmarkDecode50(b *testing.B) {
	body := answer50()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var env envelope
		if err := decodeAnswer(body, &env); err != nil || len(env.OfficialAccountInfoList) != 50 {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/50, "ns/account")
}
