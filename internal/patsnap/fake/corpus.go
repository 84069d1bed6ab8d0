package fake

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"
)

// The generated corpus: a few thousand design (D) and utility model (U)
// patents over seven offices, deterministic from the seed. Every epoch after
// the first publishes a batch of new patents, and every patent has a
// withdrawal epoch drawn once, so results move between epochs while each
// epoch's ranking stays fixed.

const (
	basePatents     = 3000
	newPerEpoch     = 90 // new publications per Advance
	withdrawPerMill = 25 // chance per epoch, in thousandths, that a visible patent is withdrawn
	never           = 1<<31 - 1
)

// Offices, in the order of the bit masks below.
var offices = []string{"US", "EU", "CN", "JP", "KR", "DE", "WO"}

// officeWeights are the shares of design and utility patents per office.
// The US, EUIPO and WIPO (Hague) register no utility models.
var (
	designOfficeWeights  = []int{25, 15, 25, 10, 10, 5, 10}
	utilityOfficeWeights = []int{0, 0, 60, 10, 15, 15, 0}
)

// locClass is one Locarno class with titles in English and Chinese.
type locClass struct {
	code   string
	weight int
	en, zh []string
}

var locClasses = []locClass{
	{"14-03", 14, []string{"Mobile phone", "Smartphone", "Telephone handset", "Mobile phone case"}, []string{"手机", "智能手机", "电话听筒", "手机壳"}},
	{"14-02", 10, []string{"Laptop computer", "Tablet computer", "Computer mouse", "Keyboard"}, []string{"笔记本电脑", "平板电脑", "鼠标", "键盘"}},
	{"14-04", 10, []string{"Display screen with graphical user interface", "Icon for a display screen", "Display panel with animated graphical user interface"}, []string{"带图形用户界面的显示屏幕", "显示屏幕的图标", "带动态图形用户界面的显示面板"}},
	{"14-01", 7, []string{"Earphone", "Wireless headset", "Loudspeaker", "Smart speaker"}, []string{"耳机", "无线耳机", "音箱", "智能音箱"}},
	{"10-02", 7, []string{"Wristwatch", "Smart watch", "Watch case", "Watch strap"}, []string{"手表", "智能手表", "表壳", "表带"}},
	{"06-01", 8, []string{"Chair", "Office chair", "Stool", "Armchair"}, []string{"椅子", "办公椅", "凳子", "扶手椅"}},
	{"07-02", 6, []string{"Electric kettle", "Frying pan", "Rice cooker", "Coffee maker"}, []string{"电热水壶", "煎锅", "电饭煲", "咖啡机"}},
	{"26-05", 6, []string{"Lamp", "Ceiling light", "Desk lamp", "Light fixture"}, []string{"灯", "吸顶灯", "台灯", "灯具"}},
	{"09-01", 5, []string{"Bottle", "Water bottle", "Cosmetic bottle"}, []string{"瓶子", "水瓶", "化妆品瓶"}},
	{"02-04", 5, []string{"Shoe", "Sports shoe", "Shoe sole"}, []string{"鞋", "运动鞋", "鞋底"}},
	{"16-01", 4, []string{"Camera", "Action camera", "Camera lens"}, []string{"相机", "运动相机", "相机镜头"}},
	{"12-08", 4, []string{"Automobile", "Vehicle front bumper", "Electric vehicle"}, []string{"汽车", "汽车前保险杠", "电动汽车"}},
}

// Utility model titles are composed from an object and a feature.
var (
	umObjectsEN  = []string{"mobile phone holder", "charging device", "water cup", "desk lamp", "electric fan", "earphone case", "keyboard", "battery pack", "display bracket", "vacuum cleaner", "office chair", "kettle"}
	umObjectsZH  = []string{"手机支架", "充电装置", "水杯", "台灯", "电风扇", "耳机盒", "键盘", "电池包", "显示器支架", "吸尘器", "办公椅", "水壶"}
	umFeaturesEN = []string{"a heat dissipation structure", "a folding mechanism", "a quick-release buckle", "an anti-slip base", "a wireless charging module", "a detachable cover", "a shock absorbing assembly", "an adjustable angle"}
	umFeaturesZH = []string{"散热结构", "折叠机构", "快拆卡扣", "防滑底座", "无线充电模块", "可拆卸盖", "减震组件", "可调角度"}
)

// assignees are (name, home office) pairs; a patent's assignee is usually
// from its office.
var assignees = []struct{ name, home string }{
	{"HUAWEI TECHNOLOGIES CO., LTD.", "CN"},
	{"GUANGDONG OPPO MOBILE TELECOMMUNICATIONS CORP., LTD.", "CN"},
	{"VIVO MOBILE COMMUNICATION CO., LTD.", "CN"},
	{"BEIJING XIAOMI MOBILE SOFTWARE CO., LTD.", "CN"},
	{"MIDEA GROUP CO., LTD.", "CN"},
	{"GREE ELECTRIC APPLIANCES, INC. OF ZHUHAI", "CN"},
	{"BYD COMPANY LIMITED", "CN"},
	{"SHENZHEN ANKER INNOVATIONS TECHNOLOGY CO., LTD.", "CN"},
	{"ZHEJIANG SUPOR CO., LTD.", "CN"},
	{"APPLE INC.", "US"},
	{"GOOGLE LLC", "US"},
	{"MICROSOFT CORPORATION", "US"},
	{"NIKE, INC.", "US"},
	{"HERMAN MILLER, INC.", "US"},
	{"GARMIN SWITZERLAND GMBH", "US"},
	{"SAMSUNG ELECTRONICS CO., LTD.", "KR"},
	{"LG ELECTRONICS INC.", "KR"},
	{"HYUNDAI MOTOR COMPANY", "KR"},
	{"SONY GROUP CORPORATION", "JP"},
	{"PANASONIC HOLDINGS CORPORATION", "JP"},
	{"CANON INC.", "JP"},
	{"CASIO COMPUTER CO., LTD.", "JP"},
	{"TOYOTA JIDOSHA KABUSHIKI KAISHA", "JP"},
	{"ROBERT BOSCH GMBH", "DE"},
	{"ADIDAS AG", "DE"},
	{"BAYERISCHE MOTOREN WERKE AKTIENGESELLSCHAFT", "DE"},
	{"IKEA SUPPLY AG", "EU"},
	{"KONINKLIJKE PHILIPS N.V.", "EU"},
	{"DYSON TECHNOLOGY LIMITED", "EU"},
	{"THE SWATCH GROUP RESEARCH AND DEVELOPMENT LTD", "WO"},
}

var (
	surnames = []string{"WANG", "LI", "ZHANG", "LIU", "CHEN", "YANG", "SMITH", "JOHNSON", "KIM", "PARK", "LEE", "TANAKA", "SUZUKI", "SATO", "MUELLER", "SCHMIDT", "MARTIN", "GARCIA", "NGUYEN", "HOSSEINI"}
	givens   = []string{"WEI", "FANG", "JUN", "MIN", "AHMED", "JOHN", "EMILY", "DAVID", "SOO-JIN", "JI-HOON", "HIROSHI", "YUKI", "ANNA", "LUKAS", "SOPHIE", "CARLOS", "LINH", "PRIYA", "OLIVER", "MEI"}
)

// patent is one corpus entry; immutable once in the corpus.
type patent struct {
	pn, id, apno     string
	titleEN, titleZH string
	current          string
	original         string
	assigneeLower    string // both assignees, lower case, for the substring filter
	inventor         string
	apdt, pbdt       int // yyyymmdd
	design           bool
	office           int // index into offices
	loc              int // index into locClasses; -1 for utility models
	key              uint64
	born, gone       int // visible in epochs born <= e < gone
	imagePath        string
}

// corpus holds the generated patents. Entries are only ever appended, so a
// reader may use a slice header taken under the lock without holding it.
type corpus struct {
	seed int64

	mu        sync.Mutex
	ready     bool // the base corpus exists
	rng       *rand.Rand
	generated int // highest epoch generated
	design    shard
	utility   shard
	byID      map[string]*patent
	byPN      map[string]*patent
	serial    map[string]int // next serial per office and type
}

func newCorpus(seed int64) *corpus {
	return &corpus{
		seed:   seed,
		rng:    rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15)),
		byID:   map[string]*patent{},
		byPN:   map[string]*patent{},
		serial: map[string]int{},
	}
}

// ensure generates the base corpus on first use, so that servers which
// never search cost nothing. Callers hold c.mu.
func (c *corpus) ensure() {
	if c.ready {
		return
	}
	c.ready = true
	start := time.Date(2010, 1, 1, 0, 0, 0, 0, time.UTC)
	span := int(time.Date(2025, 9, 30, 0, 0, 0, 0, time.UTC).Sub(start) / (24 * time.Hour))
	ps := make([]*patent, basePatents)
	for i := range ps {
		ps[i] = c.draft(start.AddDate(0, 0, c.rng.IntN(span)), 0)
	}
	// Serial numbers grow with publication date, as real ones do.
	slices.SortStableFunc(ps, func(a, b *patent) int { return a.pbdt - b.pbdt })
	for _, p := range ps {
		c.finish(p)
	}
}

// upTo generates the new publications of every epoch up to epoch.
func (c *corpus) upTo(epoch int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ensure()
	for c.generated < epoch {
		c.generated++
		e := c.generated
		// Each epoch is a week of publications from the first week of 2026 on.
		week := time.Date(2026, 1, 7, 0, 0, 0, 0, time.UTC).AddDate(0, 0, 7*(e-1))
		for range newPerEpoch {
			p := c.draftPublished(week, e)
			c.finish(p)
		}
	}
}

// shard holds the patents of one type with the fields every query filters
// on laid out in parallel columns, so that a scan touches little memory.
// Columns are only appended to, all to the same length.
type shard struct {
	ps     []*patent
	key    []uint64
	office []uint8
	loc    []int8
	apdt   []int32
	pbdt   []int32
	born   []int32
	gone   []int32
}

func (sh *shard) add(p *patent) {
	sh.ps = append(sh.ps, p)
	sh.key = append(sh.key, p.key)
	sh.office = append(sh.office, uint8(p.office))
	sh.loc = append(sh.loc, int8(p.loc))
	sh.apdt = append(sh.apdt, int32(p.apdt))
	sh.pbdt = append(sh.pbdt, int32(p.pbdt))
	sh.born = append(sh.born, int32(p.born))
	sh.gone = append(sh.gone, int32(min(p.gone, never)))
}

// view returns the patents of one type; the returned headers are safe to
// read without the lock.
func (c *corpus) view(design bool) shard {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ensure()
	if design {
		return c.design
	}
	return c.utility
}

func (c *corpus) lookupID(id string) (*patent, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ensure()
	p, ok := c.byID[id]
	return p, ok
}

func pick(r *rand.Rand, weights []int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	n := r.IntN(total)
	for i, w := range weights {
		if n < w {
			return i
		}
		n -= w
	}
	return len(weights) - 1
}

func ymd(t time.Time) int { return t.Year()*10000 + int(t.Month())*100 + t.Day() }

// draft draws everything of a patent filed on apd except its numbers.
func (c *corpus) draft(apd time.Time, born int) *patent {
	r := c.rng
	p := &patent{born: born, gone: never, loc: -1}
	p.design = r.IntN(100) < 60
	if p.design {
		p.office = pick(r, designOfficeWeights)
		w := make([]int, len(locClasses))
		for i, l := range locClasses {
			w[i] = l.weight
		}
		p.loc = pick(r, w)
		l := locClasses[p.loc]
		t := r.IntN(len(l.en))
		p.titleEN, p.titleZH = l.en[t], l.zh[t]
	} else {
		p.office = pick(r, utilityOfficeWeights)
		o, f := r.IntN(len(umObjectsEN)), r.IntN(len(umFeaturesEN))
		p.titleEN = strings.ToUpper(umObjectsEN[o][:1]) + umObjectsEN[o][1:] + " with " + umFeaturesEN[f]
		p.titleZH = "一种具有" + umFeaturesZH[f] + "的" + umObjectsZH[o]
	}
	p.apdt = ymd(apd)
	// Designs and utility models are registered fast: 2 to 20 months.
	p.pbdt = ymd(apd.AddDate(0, 0, 60+r.IntN(540)))
	// Assignee: mostly a company of the office, sometimes a foreign filer.
	var home []int
	for i, a := range assignees {
		if a.home == offices[p.office] {
			home = append(home, i)
		}
	}
	ai := r.IntN(len(assignees))
	if len(home) > 0 && r.IntN(100) < 70 {
		ai = home[r.IntN(len(home))]
	}
	p.original = assignees[ai].name
	p.current = p.original
	if r.IntN(100) < 6 {
		p.current = assignees[r.IntN(len(assignees))].name
	}
	p.assigneeLower = strings.ToLower(p.current + "\x00" + p.original)
	n := 1 + r.IntN(3)
	names := make([]string, n)
	for i := range names {
		names[i] = surnames[r.IntN(len(surnames))] + ", " + givens[r.IntN(len(givens))]
	}
	p.inventor = strings.Join(names, "|")
	p.key = r.Uint64()
	// Withdrawal: a geometric number of epochs after the patent appears.
	u := (float64(r.Uint64()>>11) + 0.5) / (1 << 53)
	p.gone = born + 1 + int(math.Log(u)/math.Log(1-float64(withdrawPerMill)/1000))
	if p.gone < born+1 || p.gone > never-1 {
		p.gone = never
	}
	return p
}

// draftPublished drafts a patent published in the week of pub.
func (c *corpus) draftPublished(pub time.Time, born int) *patent {
	apd := pub.AddDate(0, 0, -(60 + c.rng.IntN(540)))
	p := c.draft(apd, born)
	p.pbdt = ymd(pub.AddDate(0, 0, c.rng.IntN(7)))
	return p
}

// finish gives p its numbers, id and image path, and adds it to the corpus.
// Callers hold c.mu or own c exclusively.
func (c *corpus) finish(p *patent) {
	office := offices[p.office]
	year := p.apdt / 10000
	kind := "D"
	if !p.design {
		kind = "U"
	}
	k := office + kind
	if _, ok := c.serial[k]; !ok {
		c.serial[k] = 1000 + c.rng.IntN(9000)
	}
	c.serial[k] += 1 + c.rng.IntN(40)
	n := c.serial[k]
	switch k {
	case "USD":
		p.apno = fmt.Sprintf("US29%06d", 600000+n)
		p.pn = fmt.Sprintf("USD%06dS", 800000+n)
	case "EUD":
		p.apno = fmt.Sprintf("EU%09d", 2000000+n*3)
		p.pn = fmt.Sprintf("%s%04dS", p.apno, 1+int(p.key%4))
	case "CND":
		p.apno = fmt.Sprintf("CN%d3%07d", year, 100000+n)
		p.pn = fmt.Sprintf("CN3%08dS", 5000000+n*7)
	case "CNU":
		p.apno = fmt.Sprintf("CN%d2%07d", year, 100000+n)
		p.pn = fmt.Sprintf("CN2%08dU", 10000000+n*7)
	case "JPD":
		p.apno = fmt.Sprintf("JP%d%06d", year, 10000+n)
		p.pn = fmt.Sprintf("JP%07dS", 1400000+n)
	case "JPU":
		p.apno = fmt.Sprintf("JP%d%06d", year, 1000+n)
		p.pn = fmt.Sprintf("JP%07dU", 3200000+n)
	case "KRD":
		p.apno = fmt.Sprintf("KR30%d%07d", year, 10000+n)
		p.pn = fmt.Sprintf("KR30%07dS", 900000+n)
	case "KRU":
		p.apno = fmt.Sprintf("KR20%d%07d", year, 1000+n)
		p.pn = fmt.Sprintf("KR20%07dY1", 400000+n)
	case "DED":
		p.apno = fmt.Sprintf("DE40%d1%05d", year, n%100000)
		p.pn = p.apno + "S1"
	case "DEU":
		p.apno = fmt.Sprintf("DE20%d1%05d", year, n%100000)
		p.pn = p.apno + "U1"
	case "WOD":
		p.apno = fmt.Sprintf("WODM%06d", 200000+n)
		p.pn = p.apno + "S"
	}
	for c.byPN[p.pn] != nil {
		// DE numbers wrap at 100000 within a year; keep numbers unique.
		p.apno += "0"
		p.pn = p.apno + p.pn[len(p.apno)-1:]
	}
	k1, k2 := p.key, p.key*0x9e3779b97f4a7c15+uint64(c.seed)
	p.id = fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", uint32(k1>>32), uint16(k1>>16), uint16(k1)&0xfff,
		0x8000|uint16(k2>>48)&0x3fff, k2&0xffffffffffff)
	d := fmt.Sprintf("%012d", p.key%1e12)
	p.imagePath = fmt.Sprintf("/%s/%s/%s/%s/%s/%s/%s_0001_0001.png", office, map[bool]string{true: "S", false: "U"}[p.design],
		d[0:2], d[2:4], d[4:6], d[6:8], strings.ToLower(p.pn))
	c.byID[p.id] = p
	c.byPN[p.pn] = p
	if p.design {
		c.design.add(p)
	} else {
		c.utility.add(p)
	}
}
