package normalize

import (
	"encoding/json"
	"fmt"
	"sync"
	"unicode/utf8"
)

// A plan reads JSON straight into the values a mapping asks for, without
// building a Document per object: members nobody maps are skipped without
// allocating, and the members of a group's From object (the features,
// usually) go into a flat list instead of a map. It is the JSON formats'
// fast path (about three times faster on a canonical 20-feature event, see
// docs/adapter.md); what it produces is what the Document path produces,
// which FuzzPlan checks.
type plan struct {
	names  interner // member names and short string values
	root   *planNode
	fields []*valueField
	groups []*group
	pool   sync.Pool // of *slots
}

type planNode struct {
	children map[string]*planNode
	uses     []planUse // ending here
	desc     []planUse // ending below, with the rest of their path
	// membersOnly: the node's only use is one or more group From, and
	// nothing lies below: an object here is streamed member by member.
	membersOnly bool
	// predOnly: the node's only use is the prediction's From, and nothing
	// lies below: an object here is read into a predObject.
	predOnly bool
	// numeric: the node's only uses are number fields (latency, score,
	// cost, and the timestamp, whose epoch numbers toTime reads as
	// toNumber does): a number here is read straight into a float64.
	numeric bool
	// intern: the node's only uses are fields whose values repeat (model
	// ids, versions, variants, classes): a string here is interned.
	intern bool
}

const (
	useField = iota
	useGroup
	usePred
)

type planUse struct {
	kind int
	idx  int  // into plan.fields or plan.groups
	rest path // below the node holding it in desc
}

// slots are one document's values, by field and group index.
type slots struct {
	// keys are the member names of each streamed group as the last
	// record had them, in order: records of one source repeat their
	// features in the same order, and comparing bytes with the name at
	// the same position is cheaper than a lookup. Kept across records.
	keys    [][]string
	po      predObject // the prediction object, when streamed
	vals    []any
	found   []bool
	groups  []groupSlot
	pred    any
	hasPred bool
}

type groupSlot struct {
	present   bool
	notObject any
	members   []member
	index     map[string]int // of members, once there are many
	// seen has a bit per hash of the keys so far: a key whose bit is
	// clear is new without comparing it to the others.
	seen [2]uint64
}

// add appends a member; a repeated key keeps its last value, as in a
// Document.
func (g *groupSlot) add(k string, v any) {
	if g.index != nil {
		if i, ok := g.index[k]; ok {
			g.members[i].v = v
			return
		}
		g.index[k] = len(g.members)
		g.members = append(g.members, member{k, v})
		return
	}
	h := uint32(2166136261) // FNV-1a
	for i := 0; i < len(k); i++ {
		h = (h ^ uint32(k[i])) * 16777619
	}
	word, bit := (h>>6)&1, uint64(1)<<(h&63)
	if g.seen[word]&bit != 0 {
		for i := range g.members {
			if g.members[i].k == k {
				g.members[i].v = v
				return
			}
		}
	}
	g.seen[word] |= bit
	g.members = append(g.members, member{k, v})
	if len(g.members) > 32 {
		g.index = make(map[string]int, 64)
		for i, m := range g.members {
			g.index[m.k] = i
		}
	}
}

func (g *groupSlot) reset() {
	clear(g.members)
	g.members, g.present, g.notObject, g.index, g.seen = g.members[:0], false, nil, nil, [2]uint64{}
}

type member struct {
	k string
	v any
}

// newPlan compiles m for the JSON fast path.
func newPlan(m *mapping) *plan {
	p := &plan{root: &planNode{}}
	add := func(pa path, u planUse) {
		n := p.root
		for i, step := range pa {
			rest := pa[i:]
			du := u
			du.rest = rest
			n.desc = append(n.desc, du)
			if n.children == nil {
				n.children = map[string]*planNode{}
			}
			c := n.children[step]
			if c == nil {
				c = &planNode{}
				n.children[step] = c
			}
			n = c
		}
		n.uses = append(n.uses, u)
	}
	field := func(f *valueField) {
		if f == nil {
			return
		}
		p.fields = append(p.fields, f)
		f.slot = len(p.fields) - 1
		add(f.path, planUse{kind: useField, idx: f.slot})
	}
	grp := func(g *group) {
		if g == nil {
			return
		}
		p.groups = append(p.groups, g)
		g.slot = len(p.groups) - 1
		if g.from != nil {
			add(g.from, planUse{kind: useGroup, idx: g.slot})
		}
		for i := range g.fields {
			field(&g.fields[i].f)
		}
	}
	for _, f := range []*valueField{m.eventID, m.requestID, m.modelID, m.modelVersion, m.variant, m.latency, m.timestamp, m.label,
		m.predClass, m.predScore, m.predValue, m.costIn, m.costOut, m.costUSD} {
		field(f)
	}
	for _, g := range []*group{m.features, m.segments, m.attributions, m.probabilities} {
		grp(g)
	}
	if m.predFrom != nil {
		add(m.predFrom, planUse{kind: usePred})
	}
	repeats := map[*valueField]bool{m.modelID: true, m.modelVersion: true, m.variant: true, m.predClass: true, m.label: true}
	numbers := map[*valueField]bool{m.latency: true, m.predScore: true, m.predValue: true, m.costIn: true, m.costOut: true, m.costUSD: true,
		m.timestamp: true}
	delete(numbers, nil)
	var mark func(n *planNode)
	mark = func(n *planNode) {
		n.membersOnly = len(n.children) == 0 && len(n.uses) > 0
		n.intern = len(n.children) == 0 && len(n.uses) > 0
		n.predOnly = len(n.children) == 0 && len(n.uses) == 1 && n.uses[0].kind == usePred
		n.numeric = len(n.children) == 0 && len(n.uses) > 0
		for _, u := range n.uses {
			if u.kind != useField || !numbers[p.fields[u.idx]] {
				n.numeric = false
			}
			if u.kind != useGroup {
				n.membersOnly = false
			}
			if u.kind != useField || !repeats[p.fields[u.idx]] {
				n.intern = false
			}
		}
		for _, c := range n.children {
			mark(c)
		}
	}
	mark(p.root)
	p.pool.New = func() any {
		return &slots{vals: make([]any, len(p.fields)), found: make([]bool, len(p.fields)), groups: make([]groupSlot, len(p.groups)),
			keys: make([][]string, len(p.groups))}
	}
	return p
}

func (p *plan) get() *slots { return p.pool.Get().(*slots) }

func (p *plan) put(s *slots) {
	clear(s.vals)
	clear(s.found)
	for i := range s.groups {
		s.groups[i].reset()
	}
	s.pred, s.hasPred, s.po = nil, false, predObject{}
	p.pool.Put(s)
}

func (s *slots) lookup(f *valueField) (any, bool) { return s.vals[f.slot], s.found[f.slot] }

func (s *slots) members(g *group) (Document, []member, bool, any) {
	gs := &s.groups[g.slot]
	return nil, gs.members, gs.present, gs.notObject
}

func (s *slots) prediction(*mapping) any { return s.pred }

// assign gives the value v found at a use's node to the use.
func (s *slots) assign(p *plan, u planUse, v any) {
	switch u.kind {
	case useField:
		s.vals[u.idx], s.found[u.idx] = v, true
	case useGroup:
		gs := &s.groups[u.idx]
		gs.reset()
		if v == nil {
			gs.present = false
			return
		}
		gs.present = true
		obj, ok := v.(Document)
		if !ok {
			gs.notObject = v
			return
		}
		for k, x := range obj {
			gs.add(k, x)
		}
	case usePred:
		s.pred, s.hasPred = v, true
	}
}

// readObject reads the object at p (after '{' was seen, not consumed) into
// s, for node n, at depth.
func (pl *plan) readObject(p *jsonParser, n *planNode, s *slots, depth int) error {
	if empty, err := p.open(depth, '}'); empty || err != nil {
		return err
	}
	for {
		key, _, err := p.key() // unescaped if it had escapes
		if err != nil {
			return err
		}
		// n.children[string(key)] is a map index: no allocation.
		if err := pl.readValue(p, n.children[string(key)], s, depth+1); err != nil {
			return err
		}
		if p.at(',') { // the common case, without a call
			p.i++
			continue
		}
		if done, err := p.next('}', "an object"); done || err != nil {
			return err
		}
	}
}

func (pl *plan) readValue(p *jsonParser, c *planNode, s *slots, depth int) error {
	isObj := p.at('{')
	switch {
	case c == nil:
		return p.skip(depth)
	case isObj && len(c.uses) == 0:
		return pl.readObject(p, c, s, depth)
	case isObj && c.membersOnly:
		return pl.readMembers(p, c, s, depth)
	case isObj && c.predOnly:
		return pl.readPrediction(p, s, depth)
	case c.numeric && p.atNumber():
		v, err := p.numberValue()
		if err != nil {
			return err
		}
		for _, u := range c.uses {
			s.assign(pl, u, v)
		}
		return nil
	case c.intern && p.atString():
		v, err := pl.internedString(p)
		if err != nil {
			return err
		}
		for _, u := range c.uses {
			s.assign(pl, u, v)
		}
		return nil
	}
	v, err := p.value(depth)
	if err != nil {
		return err
	}
	for _, u := range c.uses {
		s.assign(pl, u, v)
	}
	for _, u := range c.desc {
		// The uses below a value that was read whole.
		if x, ok := u.rest.lookupIn(v); ok {
			s.assign(pl, u, x)
		}
	}
	return nil
}

// readMembers streams the members of the object at p into the From lists
// of the groups ending at c: the features path, allocation-light.
func (pl *plan) readMembers(p *jsonParser, c *planNode, s *slots, depth int) error {
	empty, err := p.open(depth, '}')
	if err != nil {
		return err
	}
	var gs []*groupSlot
	for _, u := range c.uses {
		g := &s.groups[u.idx]
		g.reset()
		g.present = true
		gs = append(gs, g)
	}
	if empty {
		return nil
	}
	cache := &s.keys[c.uses[0].idx]
	for n := 0; ; n++ {
		kb, escaped, err := p.key()
		if err != nil {
			return err
		}
		var k string
		switch {
		case escaped:
			k = string(kb)
		case n < len(*cache) && (*cache)[n] == string(kb):
			k = (*cache)[n]
		case !utf8.Valid(kb):
			k = string(toValidUTF8(kb))
		default:
			k = pl.names.key(kb)
			if n < len(*cache) {
				(*cache)[n] = k
			} else if n == len(*cache) && n < 256 {
				*cache = append(*cache, k)
			}
		}
		var v any
		switch {
		case p.atString():
			v, err = pl.internedString(p)
		case p.atNumber():
			v, err = p.numberValue()
		default:
			v, err = p.value(depth + 1)
		}
		if err != nil {
			return err
		}
		for _, g := range gs {
			g.add(k, v)
		}
		if p.at(',') { // the common case, without a call
			p.i++
			continue
		}
		if done, err := p.next('}', "an object"); done || err != nil {
			return err
		}
	}
}

// rawString reads a string at p.b[p.i] == '"' without converting it;
// escaped says the bytes hold escapes.
func (p *jsonParser) rawString() ([]byte, bool, error) {
	start := p.i
	p.i++
	for p.i < len(p.b) {
		switch c := p.b[p.i]; {
		case c == '"':
			p.i++
			return p.b[start+1 : p.i-1], false, nil
		case c == '\\':
			p.i = start
			s, err := p.str()
			return []byte(s), true, err
		case c < 0x20:
			return nil, false, p.errorf("control character in a string")
		}
		p.i++
	}
	return nil, false, p.errorf("unterminated string")
}

// key reads an object member's name, the colon after it and the space
// before the value; escaped says the name held escapes (it is returned
// unescaped).
func (p *jsonParser) key() ([]byte, bool, error) {
	p.skipSpace()
	if !p.atString() {
		return nil, false, p.errorf("want a string key")
	}
	k, escaped, err := p.rawString()
	if err != nil {
		return nil, false, err
	}
	if p.at(':') { // the common case, without a call
		p.i++
	} else if err := p.expect(':'); err != nil {
		return nil, false, err
	}
	p.skipSpace()
	return k, escaped, nil
}

// numberValue reads a number as a float64, which saves the json.Number's
// allocation; one out of float64's range stays a json.Number, for the
// mapping's message.
func (p *jsonParser) numberValue() (any, error) {
	num, err := p.numberBytes()
	if err != nil {
		return nil, err
	}
	if f, err := parseNumber(num); err == nil {
		return f, nil
	}
	return json.Number(num), nil
}

// internedString reads a string whose values repeat (model ids, classes,
// categorical features) through the plan's interner.
func (pl *plan) internedString(p *jsonParser) (any, error) {
	b, escaped, err := p.rawString()
	if err != nil {
		return nil, err
	}
	if escaped || !utf8.Valid(b) {
		return string(toValidUTF8(b)), nil
	}
	return pl.names.get(b), nil
}

// skip validates the value at p and moves past it without allocating.
func (p *jsonParser) skip(depth int) error {
	p.skipSpace()
	if p.i >= len(p.b) {
		return p.errorf("unexpected end, want a value")
	}
	switch c := p.b[p.i]; {
	case c == '{', c == '[':
		end := byte('}')
		if c == '[' {
			end = ']'
		}
		if empty, err := p.open(depth, end); empty || err != nil {
			return err
		}
		for {
			if c == '{' {
				if _, _, err := p.key(); err != nil {
					return err
				}
			}
			if err := p.skip(depth + 1); err != nil {
				return err
			}
			if done, err := p.next(end, "a container"); done || err != nil {
				return err
			}
		}
	case c == '"':
		_, _, err := p.rawString()
		return err
	case c == '-' || (c >= '0' && c <= '9'):
		_, err := p.numberBytes()
		return err
	case c == 't':
		return p.literal("true")
	case c == 'f':
		return p.literal("false")
	case c == 'n':
		return p.literal("null")
	default:
		return p.errorf("unexpected %q, want a value", c)
	}
}

// object reads one JSON object at p through the plan into an event;
// parseErr is a syntax or limit failure, mapErr the mapping's.
func (pl *plan) object(p *jsonParser, m *mapping, source string, schemaVersion int32, depth int, sc *Scratch) (ev Event, parseErr error, mapErr *Failure) {
	p.skipSpace()
	if p.i >= len(p.b) {
		return Event{}, fail(ClassMalformed, "not a JSON object: empty input"), nil
	}
	if p.b[p.i] != '{' {
		v, err := p.value(depth)
		if err != nil {
			return Event{}, err, nil
		}
		return Event{}, fail(ClassMalformed, "not a JSON object: got %s", typeName(v)), nil
	}
	s := pl.get()
	defer pl.put(s)
	if err := pl.readObject(p, pl.root, s, depth); err != nil {
		return Event{}, err, nil
	}
	ev, mapErr = m.event(source, schemaVersion, s, sc)
	return ev, nil, mapErr
}

// skipObject checks the object at p without mapping it.
func skipObject(p *jsonParser, depth int) error {
	p.skipSpace()
	if p.at('{') {
		return p.skip(depth)
	}
	_, err := p.object(depth)
	return err
}

// decodeJSON is Decode for the json and jsonl formats through the plan,
// with the Document path's results: syntax and limit failures first, then
// the first document's mapping failure.
func (s *Source) decodeJSON(value []byte, lines bool, sc *Scratch) ([]Event, error) {
	pl, m := s.plan, s.mapping
	var events []Event
	if sc != nil {
		events = sc.begin()
		defer func() { sc.end(events) }()
	}
	var mapErr *Failure
	mapDoc := 0
	n := 0
	p := jsonParser{b: value, maxDepth: s.Limits.depth()}
	err := p.objects(lines, s.Limits.documents(), func(depth int) error {
		n++
		if mapErr != nil {
			return skipObject(&p, depth)
		}
		ev, perr, merr := pl.object(&p, m, s.Name, s.SchemaVersion, depth, sc)
		if perr != nil {
			return perr
		}
		if merr != nil {
			mapErr, mapDoc = merr, n
			events = nil
			return nil
		}
		events = append(events, ev)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if mapErr != nil {
		if n == 1 {
			return nil, mapErr
		}
		return nil, &Failure{Class: mapErr.Class, Err: fmt.Errorf("document %d: %w", mapDoc, mapErr.Err)}
	}
	return events, nil
}

// readPrediction reads the canonical prediction object at p into s.po,
// keeping only the members the mapping reads.
func (pl *plan) readPrediction(p *jsonParser, s *slots, depth int) error {
	empty, err := p.open(depth, '}')
	if err != nil {
		return err
	}
	s.po = predObject{}
	s.pred, s.hasPred = &s.po, true
	if empty {
		return nil
	}
	for {
		key, _, err := p.key()
		if err != nil {
			return err
		}
		po := &s.po
		switch string(key) {
		case "class":
			if p.atString() {
				po.class, err = pl.internedString(p)
			} else {
				po.class, err = p.value(depth + 1)
			}
			if err != nil {
				return err
			}
			po.hasClass = true
		case "score", "value":
			var v any
			if p.atNumber() {
				v, err = p.numberValue()
			} else {
				v, err = p.value(depth + 1)
			}
			if err != nil {
				return err
			}
			if string(key) == "score" {
				po.score, po.hasScore = v, true
			} else {
				po.value, po.hasValue = v, true
			}
		case "probabilities":
			if po.probs, err = p.value(depth + 1); err != nil {
				return err
			}
			po.hasProbs = true
		default:
			if err := p.skip(depth + 1); err != nil {
				return err
			}
		}
		if done, err := p.next('}', "an object"); done || err != nil {
			return err
		}
	}
}
