package sim

import (
	"fmt"
	"time"
)

// user is a panel account.
type user struct {
	id         int
	externalID *string
	uuid       string
	username   string
	email      string
	firstName  string
	lastName   string
	language   string
	rootAdmin  bool
	password   string
	created    time.Time
	updated    time.Time
}

// location groups nodes; deploy blocks select nodes by location id.
type location struct {
	id    int
	short string
	long  string
}

// node is a machine running the daemon, with the memory and disk servers are placed against.
type node struct {
	id                 int
	uuid               string
	name               string
	fqdn               string
	locationID         int
	public             bool
	maintenance        bool
	memory             int64
	memoryOverallocate int64
	disk               int64
	diskOverallocate   int64
	created            time.Time
}

// allocation is an ip:port on a node; serverID 0 means unassigned.
type allocation struct {
	id       int
	nodeID   int
	ip       string
	alias    *string
	port     int
	serverID int
}

// nest groups eggs.
type nest struct {
	id   int
	name string
}

// egg is what a server runs: image, startup command and variables.
type egg struct {
	id          int
	nestID      int
	name        string
	dockerImage string
	startup     string
	variables   []variable
	created     time.Time
}

// variable is an egg's environment variable with its Laravel validation rules.
type variable struct {
	id      int
	name    string
	env     string
	def     string
	rules   string
	created time.Time
}

// seed creates the root admin, location 1 with nodes 1 and 2 (ports 25565 upwards), and the
// Minecraft and Rust nests.
func (s *Sim) seed(portsPerNode int) {
	now := s.now()
	s.users[1] = &user{
		id: 1, uuid: fakeUUID("user:1"), username: "admin", email: "admin@example.com",
		firstName: "Panel", lastName: "Admin", language: "en", rootAdmin: true,
		password: "admin", created: now, updated: now,
	}
	s.nextUser = 2
	s.nextServer = 1
	s.keys[s.token] = apiKey{application: true, userID: 1}
	s.keys[s.clientKey] = apiKey{userID: 1}

	s.locations = []*location{{id: 1, short: "de-fra", long: "Frankfurt, Germany"}}
	for i := 1; i <= 2; i++ {
		s.nodes = append(s.nodes, &node{
			id: i, uuid: fakeUUID(fmt.Sprintf("node:%d", i)), name: fmt.Sprintf("fra-node-%d", i),
			fqdn: fmt.Sprintf("node%d.fra.sim.test", i), locationID: 1, public: true,
			memory: 32768, disk: 512000, created: now,
		})
		for p := 0; p < portsPerNode; p++ {
			s.allocations = append(s.allocations, &allocation{
				id: len(s.allocations) + 1, nodeID: i, ip: fmt.Sprintf("10.0.0.%d", 10+i), port: 25565 + p,
			})
		}
	}

	s.nests = []*nest{{id: 1, name: "Minecraft"}, {id: 2, name: "Rust"}}
	vid := 0
	v := func(name, env, def, rules string) variable {
		vid++
		return variable{id: vid, name: name, env: env, def: def, rules: rules, created: now}
	}
	s.eggs = []*egg{
		{
			id: 1, nestID: 1, name: "Paper", dockerImage: "ghcr.io/pterodactyl/yolks:java_17",
			startup: "java -Xms128M -Xmx{{SERVER_MEMORY}}M -Dterminal.jline=false -Dterminal.ansi=true -jar {{SERVER_JARFILE}}",
			variables: []variable{
				v("Minecraft Version", "MINECRAFT_VERSION", "latest", "nullable|string|max:20"),
				v("Server Jar File", "SERVER_JARFILE", "server.jar", "required|regex:/^([\\w\\d._-]+)(\\.jar)$/"),
				v("Build Number", "BUILD_NUMBER", "latest", "required|string|max:20"),
			},
			created: now,
		},
		{
			id: 2, nestID: 1, name: "Vanilla Minecraft", dockerImage: "ghcr.io/pterodactyl/yolks:java_17",
			startup: "java -Xms128M -Xmx{{SERVER_MEMORY}}M -jar {{SERVER_JARFILE}}",
			variables: []variable{
				v("Server Jar File", "SERVER_JARFILE", "server.jar", "required|regex:/^([\\w\\d._-]+)(\\.jar)$/"),
				v("Server Version", "VANILLA_VERSION", "latest", "required|string|between:3,15"),
			},
			created: now,
		},
		{
			id: 3, nestID: 2, name: "Rust", dockerImage: "ghcr.io/pterodactyl/games:rust",
			startup: "./RustDedicated -batchmode +server.port {{SERVER_PORT}} +server.hostname \"{{HOSTNAME}}\" +server.level \"{{LEVEL}}\"",
			variables: []variable{
				v("Server Name", "HOSTNAME", "A Rust Server", "required|string|max:60"),
				v("Level", "LEVEL", "Procedural Map", "required|string|max:20"),
			},
			created: now,
		},
	}
}

func (s *Sim) egg(id int) *egg {
	for _, e := range s.eggs {
		if e.id == id {
			return e
		}
	}
	return nil
}

func (s *Sim) node(id int) *node {
	for _, n := range s.nodes {
		if n.id == id {
			return n
		}
	}
	return nil
}

func (s *Sim) allocation(id int) *allocation {
	for _, a := range s.allocations {
		if a.id == id {
			return a
		}
	}
	return nil
}
