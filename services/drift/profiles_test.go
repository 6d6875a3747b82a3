package drift

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/driftline/driftline/schemas"
	"github.com/driftline/driftline/services/store"
	"github.com/driftline/driftline/services/store/storetest"
	"github.com/driftline/driftline/services/stream"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Follow hands every profile it reads to save before using it, and the
// stored profiles come back from the table whole, once each however often
// they were saved (every instance saves them at start-up).
func TestFollowSavesProfiles(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	topic := stream.NewTopics("").References()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, topic))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	p1 := profile(t)
	p2 := *p1
	p2.ModelVersion, p2.ReferenceID, p2.CreatedAt = "v2", "second", p1.CreatedAt.Add(time.Hour)
	other := *p1
	other.ModelID, other.ReferenceID = "other", "of-another-model"
	for _, p := range []*schemas.ReferenceProfile{p1, &p2, &other} {
		r, err := stream.Record(topic, ReferenceKey(p.ModelID, p.ModelVersion), p)
		if err != nil {
			t.Fatal(err)
		}
		if err := stream.ProduceSync(ctx, cl, r); err != nil {
			t.Fatal(err)
		}
	}

	st, _ := storetest.Open(t)
	refs := NewReferences()
	fctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- refs.Follow(fctx, cl, topic, func(ctx context.Context, ps []*schemas.ReferenceProfile) error {
			if err := SaveProfiles(ctx, st, ps); err != nil {
				return err
			}
			return SaveProfiles(ctx, st, ps) // a second instance's start-up
		})
	}()
	select {
	case <-refs.Loaded():
	case <-ctx.Done():
		t.Fatal("the references topic was not read to its end")
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got, err := LoadProfiles(ctx, st, p1.ModelID)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []*schemas.ReferenceProfile{p1, &p2} {
		g := got.ByID(want.ReferenceID)
		if g == nil {
			t.Errorf("profile %s not stored", want.ReferenceID)
			continue
		}
		// Compared in their encoding: the round trip turns nil lists
		// into empty ones.
		gb, err1 := schemas.Marshal(g)
		wb, err2 := schemas.Marshal(want)
		if err1 != nil || err2 != nil || !bytes.Equal(gb, wb) {
			t.Errorf("stored profile %s differs from the one on the topic (%v, %v)", want.ReferenceID, err1, err2)
		}
	}
	if got.ByID(other.ReferenceID) != nil {
		t.Error("LoadProfiles returned another model's profile")
	}
	if f := got.For(p1.ModelID, "v3"); f == nil || f.ReferenceID != "second" {
		t.Errorf("For(unknown version) = %v, want the newest profile", f)
	}
	res, err := st.Query(ctx, "SELECT count() FROM reference_profiles")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := store.Int(res.Rows[0][0]); err != nil || n != 3 {
		t.Errorf("%v rows in reference_profiles after saving three profiles twice, want 3 (%v)", res.Rows[0][0], err)
	}

	// A failing save ends Follow before the profiles are used.
	again := NewReferences()
	cl2, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl2.Close()
	boom := errors.New("store down")
	err = again.Follow(ctx, cl2, topic, func(context.Context, []*schemas.ReferenceProfile) error { return boom })
	if !errors.Is(err, boom) || again.ByID(p1.ReferenceID) != nil {
		t.Errorf("Follow with a failing save = %v, profile used: %v", err, again.ByID(p1.ReferenceID) != nil)
	}
}
