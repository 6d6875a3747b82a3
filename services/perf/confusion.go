package perf

// confusion counts rows by (label, predicted class), nested by label so
// that pooling a class touches one row and one cell per row, not every
// cell: with rows arriving in descending class order every row pools a
// class.
type confusion map[string]map[string]int64

func (m confusion) add(label, pred string, n int64) {
	row := m[label]
	if row == nil {
		row = map[string]int64{}
		m[label] = row
	}
	row[pred] += n
}

func (m confusion) get(label, pred string) int64 { return m[label][pred] }

// each calls f for every non-empty cell, in no particular order.
func (m confusion) each(f func(label, pred string, n int64)) {
	for l, row := range m {
		for p, n := range row {
			f(l, p, n)
		}
	}
}

// pool moves class e's row and column to OtherClass.
func (m confusion) pool(e string) {
	if row, ok := m[e]; ok {
		delete(m, e)
		for p, n := range row {
			m.add(OtherClass, p, n)
		}
	}
	for _, row := range m {
		if n, ok := row[e]; ok {
			delete(row, e)
			row[OtherClass] += n
		}
	}
}
