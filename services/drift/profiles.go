package drift

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"

	"github.com/driftline/driftline/schemas"
	"github.com/driftline/driftline/services/store"
)

// The profiles a window was measured against live on the references topic,
// which analysts do not read. The drift-aggregator copies every profile it
// reads into the reference_profiles table, so that a view of stored windows
// (driftline view) finds them in ClickHouse beside the windows.

// SaveProfiles stores profiles in reference_profiles, with a token derived
// from their ids, so that every instance storing them again at start-up is
// absorbed.
func SaveProfiles(ctx context.Context, st store.Store, ps []*schemas.ReferenceProfile) error {
	if len(ps) == 0 {
		return nil
	}
	h := sha256.New()
	rows := make([]store.Row, 0, len(ps))
	for _, p := range ps {
		b, err := schemas.Marshal(p)
		if err != nil {
			return fmt.Errorf("encode reference profile %s: %w", p.ReferenceID, err)
		}
		fmt.Fprintf(h, "%s\n", p.ReferenceID)
		rows = append(rows, store.Row{"reference_id": p.ReferenceID, "model_id": p.ModelID, "model_version": p.ModelVersion,
			"created_at": p.CreatedAt.UTC(), "profile": b})
	}
	if err := st.Insert(ctx, "reference_profiles", "profiles-"+hex.EncodeToString(h.Sum(nil)), rows); err != nil {
		return fmt.Errorf("insert %d reference profiles: %w", len(rows), err)
	}
	return nil
}

// LoadProfiles returns the stored profiles of a model.
func LoadProfiles(ctx context.Context, st store.Store, modelID string) (*References, error) {
	res, err := st.Query(ctx, "SELECT reference_id, base64Encode(any(profile)) FROM reference_profiles WHERE model_id = "+
		store.Quote(modelID)+" GROUP BY reference_id")
	if err != nil {
		return nil, fmt.Errorf("read reference profiles: %w", err)
	}
	refs := NewReferences()
	for _, r := range res.Rows {
		if len(r) != 2 {
			return nil, fmt.Errorf("read reference profiles: row of %d columns, want 2", len(r))
		}
		s, ok := r[1].(string)
		if !ok {
			return nil, fmt.Errorf("read reference profile %v: got %T, want a string", r[0], r[1])
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("read reference profile %v: %w", r[0], err)
		}
		var p schemas.ReferenceProfile
		if err := schemas.Unmarshal(b, &p); err != nil {
			return nil, fmt.Errorf("read reference profile %v: %w", r[0], err)
		}
		refs.Put(&p)
	}
	return refs, nil
}
