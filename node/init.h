/*
 * node/init.h — `pbftd init` and `pbftd testnet`: make replica homes.
 *
 *   pbftd testnet --dir DIR [-n 4] [--base-port P] [--accounts K]
 *                 [--balance B] [--chain-name NAME] [consensus param flags]
 *       n node keys, K funded account keys (DIR/accounts/NAME.pem), one
 *       genesis, homes DIR/nodeI/{config.ini,genesis.json,node_key.pem},
 *       DIR/accounts/genesis.json and DIR/testnet.json.
 *   pbftd init --home DIR [--base-port P] [--balance B] [--chain-name NAME]
 *       a single-replica development home (n = 1) with one funded account
 *       key and a genesis copy in DIR/accounts, and DIR/dev.json.
 *
 * Both refuse to overwrite an existing file. node/main.c dispatches to these
 * with argv[0] == "init" / "testnet". They return a process exit status
 * (0 success, 64 usage, 73 cannot create, 1 other failure).
 */
#ifndef PBFT_NODE_INIT_H
#define PBFT_NODE_INIT_H

int pbftd_cmd_init(int argc, char **argv);
int pbftd_cmd_testnet(int argc, char **argv);

#endif /* PBFT_NODE_INIT_H */
