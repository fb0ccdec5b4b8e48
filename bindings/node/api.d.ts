// api.d.ts: imgwd's methods and events, generated from its rpc.describe by
// scripts/gen-types.js (npm run types). Do not edit: test/types.test.js fails
// when this file and the daemon disagree.

/** Options of one call. */
export interface CallOptions {
  /** Milliseconds to wait for the answer (default: the client's; 0: none). */
  timeout?: number;
}

/** The protocol version these declarations were generated from. */
export type ProtocolVersion = '1.0';

/** The named arguments of each method. */
export interface MethodArgs {
  /** run many calls in one round trip: [{method, params}] */
  'batch': {
    /** array, required */
    calls: unknown[];
  };
  /** block users */
  'blacklist.add': {
    /** array, required */
    users: unknown[];
  };
  /** blocked users */
  'blacklist.list': Record<string, never>;
  /** unblock users */
  'blacklist.remove': {
    /** array, required */
    users: unknown[];
  };
  /** name this client (shown by client.list) */
  'client.hello': {
    /** string, required */
    name: string;
  };
  /** the connected clients */
  'client.list': Record<string, never>;
  /** forget its cached messages, keep it listed */
  'conversation.clear': {
    /** id, exactly one of user, group */
    user?: string;
    /** id, exactly one of user, group */
    group?: string;
  };
  /** delete with its cached history */
  'conversation.delete': {
    /** id, exactly one of user, group */
    user?: string;
    /** id, exactly one of user, group */
    group?: string;
  };
  /** save a draft */
  'conversation.draft': {
    /** id, exactly one of user, group */
    user?: string;
    /** id, exactly one of user, group */
    group?: string;
    /** string, required */
    text: string;
  };
  /** one conversation */
  'conversation.get': {
    /** id, exactly one of user, group */
    user?: string;
    /** id, exactly one of user, group */
    group?: string;
  };
  /** conversations, pinned first */
  'conversation.list': {
    /** int, optional */
    limit?: number;
    /** int, optional */
    offset?: number;
  };
  /** do not disturb */
  'conversation.mute': {
    /** id, exactly one of user, group */
    user?: string;
    /** id, exactly one of user, group */
    group?: string;
    /** bool, optional */
    muted?: boolean;
  };
  /** pin or unpin */
  'conversation.pin': {
    /** id, exactly one of user, group */
    user?: string;
    /** id, exactly one of user, group */
    group?: string;
    /** bool, optional */
    pinned?: boolean;
  };
  /** mark read up to a message */
  'conversation.read': {
    /** id, exactly one of user, group */
    user?: string;
    /** id, exactly one of user, group */
    group?: string;
    /** id, optional */
    upto?: string;
  };
  /** mark every conversation read */
  'conversation.readAll': Record<string, never>;
  /** total unread */
  'conversation.unread': Record<string, never>;
  /** check the cache's integrity */
  'db.check': Record<string, never>;
  /** cache statistics */
  'db.stats': Record<string, never>;
  /** compact the cache */
  'db.vacuum': Record<string, never>;
  /** receive events after seq since, of the given type prefixes */
  'events.subscribe': {
    /** int, optional */
    since?: number;
    /** array, optional */
    topics?: unknown[];
  };
  /** stop receiving events */
  'events.unsubscribe': Record<string, never>;
  /** the relation with each user */
  'friend.check': {
    /** array, required */
    users: unknown[];
  };
  /** delete friends */
  'friend.delete': {
    /** array, required */
    users: unknown[];
  };
  /** put friends in a friend group */
  'friend.group.add': {
    /** string, required */
    name: string;
    /** array, required */
    users: unknown[];
  };
  /** create a friend group */
  'friend.group.create': {
    /** string, required */
    name: string;
  };
  /** delete a friend group */
  'friend.group.delete': {
    /** string, required */
    name: string;
  };
  /** my friend groups */
  'friend.group.list': Record<string, never>;
  /** take friends out of a friend group */
  'friend.group.remove': {
    /** string, required */
    name: string;
    /** array, required */
    users: unknown[];
  };
  /** rename a friend group */
  'friend.group.rename': {
    /** string, required */
    name: string;
    /** string, required */
    newName: string;
  };
  /** my friends */
  'friend.list': Record<string, never>;
  /** set a friend's remark (alias) */
  'friend.remark': {
    /** id, required */
    user: string;
    /** string, required */
    remark: string;
  };
  /** ask to be friends */
  'friend.request': {
    /** id, required */
    user: string;
    /** string, optional */
    message?: string;
  };
  /** friend requests in and out */
  'friend.requests': Record<string, never>;
  /** accept or refuse a friend request */
  'friend.respond': {
    /** id, required */
    user: string;
    /** bool, required */
    accept: boolean;
  };
  /** friends by id, remark or nickname (cache) */
  'friend.search': {
    /** string, required */
    text: string;
  };
  /** accept or refuse a join request */
  'group.approve': {
    /** id, required */
    group: string;
    /** id, required */
    user: string;
    /** bool, required */
    accept: boolean;
  };
  /** create a group */
  'group.create': {
    /** string, required */
    name: string;
    /** array, optional */
    users?: unknown[];
    /** string, optional */
    joinPolicy?: string;
    /** string, optional */
    notice?: string;
    /** string, optional */
    avatar?: string;
    /** string, optional */
    intro?: string;
    /** id, optional */
    group?: string;
  };
  /** dismiss a group (owner) */
  'group.dismiss': {
    /** id, required */
    group: string;
  };
  /** receive a group's messages (after every connect too) */
  'group.follow': {
    /** id, required */
    group: string;
  };
  /** the groups followed */
  'group.followed': Record<string, never>;
  /** a group's information */
  'group.info': {
    /** id, required */
    group: string;
  };
  /** add members */
  'group.invite': {
    /** id, required */
    group: string;
    /** array, required */
    users: unknown[];
  };
  /** join, or ask to join */
  'group.join': {
    /** id, required */
    group: string;
    /** string, optional */
    message?: string;
  };
  /** remove members */
  'group.kick': {
    /** id, required */
    group: string;
    /** array, required */
    users: unknown[];
  };
  /** my groups */
  'group.list': Record<string, never>;
  /** a group's members by id or nickname (cache) */
  'group.member.search': {
    /** id, required */
    group: string;
    /** string, required */
    text: string;
  };
  /** a group's members */
  'group.members': {
    /** id, required */
    group: string;
    /** string, optional */
    role?: string;
    /** int, optional */
    offset?: number;
    /** int, optional */
    limit?: number;
  };
  /** mute a member for a time (0 unmutes) */
  'group.mute': {
    /** id, required */
    group: string;
    /** id, required */
    user: string;
    /** int, required */
    seconds: number;
  };
  /** mute everyone but owner and admins */
  'group.muteAll': {
    /** id, required */
    group: string;
    /** bool, required */
    muted: boolean;
  };
  /** leave a group */
  'group.quit': {
    /** id, required */
    group: string;
  };
  /** pending join requests */
  'group.requests': {
    /** id, required */
    group: string;
  };
  /** make ADMIN or MEMBER (owner) */
  'group.role': {
    /** id, required */
    group: string;
    /** id, required */
    user: string;
    /** string, required */
    role: string;
  };
  /** my groups by id or name (cache) */
  'group.search': {
    /** string, required */
    text: string;
  };
  /** hand the group to another member (owner) */
  'group.transfer': {
    /** id, required */
    group: string;
    /** id, required */
    user: string;
  };
  /** stop following a group */
  'group.unfollow': {
    /** id, required */
    group: string;
  };
  /** change a group's information */
  'group.update': {
    /** id, required */
    group: string;
    /** string, optional */
    name?: string;
    /** string, optional */
    notice?: string;
    /** string, optional */
    avatar?: string;
    /** string, optional */
    intro?: string;
    /** string, optional */
    joinPolicy?: string;
  };
  /** send the same text to many users */
  'message.broadcast': {
    /** array, required */
    users: unknown[];
    /** string, required */
    text: string;
  };
  /** withdraw an unsent message */
  'message.cancel': {
    /** id, required */
    id: string;
  };
  /** forget messages locally */
  'message.delete': {
    /** id, optional */
    id?: string;
    /** array, optional */
    ids?: unknown[];
  };
  /** edit a message you sent */
  'message.edit': {
    /** id, required */
    id: string;
    /** string, required */
    text: string;
    /** object, optional */
    payload?: Record<string, unknown>;
  };
  /** fetch older messages from the server into the cache */
  'message.fetch': {
    /** id, exactly one of user, group */
    user?: string;
    /** id, exactly one of user, group */
    group?: string;
    /** int, optional */
    before?: number;
    /** int, optional */
    limit?: number;
  };
  /** send a copy of a cached message */
  'message.forward': {
    /** id, required */
    id: string;
    /** id, exactly one of user, group */
    user?: string;
    /** id, exactly one of user, group */
    group?: string;
  };
  /** one cached message */
  'message.get': {
    /** id, required */
    id: string;
  };
  /** a page of cached history */
  'message.history': {
    /** id, exactly one of user, group */
    user?: string;
    /** id, exactly one of user, group */
    group?: string;
    /** int, optional */
    limit?: number;
    /** id, optional */
    before?: string;
    /** id, optional */
    after?: string;
    /** string, optional */
    order?: string;
  };
  /** re-send a FAILED message */
  'message.resend': {
    /** id, required */
    id: string;
  };
  /** revoke a message you sent */
  'message.revoke': {
    /** id, required */
    id: string;
  };
  /** substring search of the cache */
  'message.search': {
    /** string, required */
    text: string;
    /** id, optional */
    user?: string;
    /** id, optional */
    group?: string;
    /** id, optional */
    sender?: string;
    /** int, optional */
    from?: number;
    /** int, optional */
    to?: number;
    /** int, optional */
    limit?: number;
    /** string, optional */
    cursor?: string;
  };
  /** send a message (durably queued) */
  'message.send': {
    /** id, exactly one of user, group */
    user?: string;
    /** id, exactly one of user, group */
    group?: string;
    /** string, required */
    text: string;
    /** string, optional */
    type?: string;
    /** object, optional */
    payload?: Record<string, unknown>;
    /** array, optional */
    mentions?: unknown[];
    /** id, optional */
    replyTo?: string;
    /** id, optional */
    id?: string;
  };
  /** users' profiles */
  'profile.get': {
    /** array, required */
    users: unknown[];
  };
  /** change my profile */
  'profile.set': {
    /** string, optional */
    nickname?: string;
    /** string, optional */
    avatar?: string;
    /** string, optional */
    signature?: string;
    /** string, optional */
    gender?: string;
    /** string, optional */
    birthday?: string;
    /** object, optional */
    custom?: Record<string, unknown>;
  };
  /** the protocol: methods, events, error codes */
  'rpc.describe': Record<string, never>;
  /** answer at once (for latency checks) */
  'rpc.ping': Record<string, never>;
  /** use a new token and reconnect */
  'session.login': {
    /** token, required */
    token: string;
  };
  /** disconnect and stay offline until login or reconnect */
  'session.logout': Record<string, never>;
  /** reconnect now */
  'session.reconnect': Record<string, never>;
  /** connection state and identity */
  'session.status': Record<string, never>;
}

/** Every method name. */
export type MethodName = keyof MethodArgs;

/** Every method as a property of a connected client. */
export interface Api {
  /** run many calls in one round trip: [{method, params}] */
  batch(args: MethodArgs['batch'], options?: CallOptions): Promise<any>;
  blacklist: {
    /** block users */
    add(args: MethodArgs['blacklist.add'], options?: CallOptions): Promise<any>;
    /** blocked users */
    list(args?: MethodArgs['blacklist.list'], options?: CallOptions): Promise<any>;
    /** unblock users */
    remove(args: MethodArgs['blacklist.remove'], options?: CallOptions): Promise<any>;
  };
  client: {
    /** name this client (shown by client.list) */
    hello(args: MethodArgs['client.hello'], options?: CallOptions): Promise<any>;
    /** the connected clients */
    list(args?: MethodArgs['client.list'], options?: CallOptions): Promise<any>;
  };
  conversation: {
    /** forget its cached messages, keep it listed */
    clear(args?: MethodArgs['conversation.clear'], options?: CallOptions): Promise<any>;
    /** delete with its cached history */
    delete(args?: MethodArgs['conversation.delete'], options?: CallOptions): Promise<any>;
    /** save a draft */
    draft(args: MethodArgs['conversation.draft'], options?: CallOptions): Promise<any>;
    /** one conversation */
    get(args?: MethodArgs['conversation.get'], options?: CallOptions): Promise<any>;
    /** conversations, pinned first */
    list(args?: MethodArgs['conversation.list'], options?: CallOptions): Promise<any>;
    /** do not disturb */
    mute(args?: MethodArgs['conversation.mute'], options?: CallOptions): Promise<any>;
    /** pin or unpin */
    pin(args?: MethodArgs['conversation.pin'], options?: CallOptions): Promise<any>;
    /** mark read up to a message */
    read(args?: MethodArgs['conversation.read'], options?: CallOptions): Promise<any>;
    /** mark every conversation read */
    readAll(args?: MethodArgs['conversation.readAll'], options?: CallOptions): Promise<any>;
    /** total unread */
    unread(args?: MethodArgs['conversation.unread'], options?: CallOptions): Promise<any>;
  };
  db: {
    /** check the cache's integrity */
    check(args?: MethodArgs['db.check'], options?: CallOptions): Promise<any>;
    /** cache statistics */
    stats(args?: MethodArgs['db.stats'], options?: CallOptions): Promise<any>;
    /** compact the cache */
    vacuum(args?: MethodArgs['db.vacuum'], options?: CallOptions): Promise<any>;
  };
  events: {
    /** receive events after seq since, of the given type prefixes */
    subscribe(args?: MethodArgs['events.subscribe'], options?: CallOptions): Promise<any>;
    /** stop receiving events */
    unsubscribe(args?: MethodArgs['events.unsubscribe'], options?: CallOptions): Promise<any>;
  };
  friend: {
    /** the relation with each user */
    check(args: MethodArgs['friend.check'], options?: CallOptions): Promise<any>;
    /** delete friends */
    delete(args: MethodArgs['friend.delete'], options?: CallOptions): Promise<any>;
    group: {
      /** put friends in a friend group */
      add(args: MethodArgs['friend.group.add'], options?: CallOptions): Promise<any>;
      /** create a friend group */
      create(args: MethodArgs['friend.group.create'], options?: CallOptions): Promise<any>;
      /** delete a friend group */
      delete(args: MethodArgs['friend.group.delete'], options?: CallOptions): Promise<any>;
      /** my friend groups */
      list(args?: MethodArgs['friend.group.list'], options?: CallOptions): Promise<any>;
      /** take friends out of a friend group */
      remove(args: MethodArgs['friend.group.remove'], options?: CallOptions): Promise<any>;
      /** rename a friend group */
      rename(args: MethodArgs['friend.group.rename'], options?: CallOptions): Promise<any>;
    };
    /** my friends */
    list(args?: MethodArgs['friend.list'], options?: CallOptions): Promise<any>;
    /** set a friend's remark (alias) */
    remark(args: MethodArgs['friend.remark'], options?: CallOptions): Promise<any>;
    /** ask to be friends */
    request(args: MethodArgs['friend.request'], options?: CallOptions): Promise<any>;
    /** friend requests in and out */
    requests(args?: MethodArgs['friend.requests'], options?: CallOptions): Promise<any>;
    /** accept or refuse a friend request */
    respond(args: MethodArgs['friend.respond'], options?: CallOptions): Promise<any>;
    /** friends by id, remark or nickname (cache) */
    search(args: MethodArgs['friend.search'], options?: CallOptions): Promise<any>;
  };
  group: {
    /** accept or refuse a join request */
    approve(args: MethodArgs['group.approve'], options?: CallOptions): Promise<any>;
    /** create a group */
    create(args: MethodArgs['group.create'], options?: CallOptions): Promise<any>;
    /** dismiss a group (owner) */
    dismiss(args: MethodArgs['group.dismiss'], options?: CallOptions): Promise<any>;
    /** receive a group's messages (after every connect too) */
    follow(args: MethodArgs['group.follow'], options?: CallOptions): Promise<any>;
    /** the groups followed */
    followed(args?: MethodArgs['group.followed'], options?: CallOptions): Promise<any>;
    /** a group's information */
    info(args: MethodArgs['group.info'], options?: CallOptions): Promise<any>;
    /** add members */
    invite(args: MethodArgs['group.invite'], options?: CallOptions): Promise<any>;
    /** join, or ask to join */
    join(args: MethodArgs['group.join'], options?: CallOptions): Promise<any>;
    /** remove members */
    kick(args: MethodArgs['group.kick'], options?: CallOptions): Promise<any>;
    /** my groups */
    list(args?: MethodArgs['group.list'], options?: CallOptions): Promise<any>;
    member: {
      /** a group's members by id or nickname (cache) */
      search(args: MethodArgs['group.member.search'], options?: CallOptions): Promise<any>;
    };
    /** a group's members */
    members(args: MethodArgs['group.members'], options?: CallOptions): Promise<any>;
    /** mute a member for a time (0 unmutes) */
    mute(args: MethodArgs['group.mute'], options?: CallOptions): Promise<any>;
    /** mute everyone but owner and admins */
    muteAll(args: MethodArgs['group.muteAll'], options?: CallOptions): Promise<any>;
    /** leave a group */
    quit(args: MethodArgs['group.quit'], options?: CallOptions): Promise<any>;
    /** pending join requests */
    requests(args: MethodArgs['group.requests'], options?: CallOptions): Promise<any>;
    /** make ADMIN or MEMBER (owner) */
    role(args: MethodArgs['group.role'], options?: CallOptions): Promise<any>;
    /** my groups by id or name (cache) */
    search(args: MethodArgs['group.search'], options?: CallOptions): Promise<any>;
    /** hand the group to another member (owner) */
    transfer(args: MethodArgs['group.transfer'], options?: CallOptions): Promise<any>;
    /** stop following a group */
    unfollow(args: MethodArgs['group.unfollow'], options?: CallOptions): Promise<any>;
    /** change a group's information */
    update(args: MethodArgs['group.update'], options?: CallOptions): Promise<any>;
  };
  message: {
    /** send the same text to many users */
    broadcast(args: MethodArgs['message.broadcast'], options?: CallOptions): Promise<any>;
    /** withdraw an unsent message */
    cancel(args: MethodArgs['message.cancel'], options?: CallOptions): Promise<any>;
    /** forget messages locally */
    delete(args?: MethodArgs['message.delete'], options?: CallOptions): Promise<any>;
    /** edit a message you sent */
    edit(args: MethodArgs['message.edit'], options?: CallOptions): Promise<any>;
    /** fetch older messages from the server into the cache */
    fetch(args?: MethodArgs['message.fetch'], options?: CallOptions): Promise<any>;
    /** send a copy of a cached message */
    forward(args: MethodArgs['message.forward'], options?: CallOptions): Promise<any>;
    /** one cached message */
    get(args: MethodArgs['message.get'], options?: CallOptions): Promise<any>;
    /** a page of cached history */
    history(args?: MethodArgs['message.history'], options?: CallOptions): Promise<any>;
    /** re-send a FAILED message */
    resend(args: MethodArgs['message.resend'], options?: CallOptions): Promise<any>;
    /** revoke a message you sent */
    revoke(args: MethodArgs['message.revoke'], options?: CallOptions): Promise<any>;
    /** substring search of the cache */
    search(args: MethodArgs['message.search'], options?: CallOptions): Promise<any>;
    /** send a message (durably queued) */
    send(args: MethodArgs['message.send'], options?: CallOptions): Promise<any>;
  };
  profile: {
    /** users' profiles */
    get(args: MethodArgs['profile.get'], options?: CallOptions): Promise<any>;
    /** change my profile */
    set(args?: MethodArgs['profile.set'], options?: CallOptions): Promise<any>;
  };
  rpc: {
    /** the protocol: methods, events, error codes */
    describe(args?: MethodArgs['rpc.describe'], options?: CallOptions): Promise<any>;
    /** answer at once (for latency checks) */
    ping(args?: MethodArgs['rpc.ping'], options?: CallOptions): Promise<any>;
  };
  session: {
    /** use a new token and reconnect */
    login(args: MethodArgs['session.login'], options?: CallOptions): Promise<any>;
    /** disconnect and stay offline until login or reconnect */
    logout(args?: MethodArgs['session.logout'], options?: CallOptions): Promise<any>;
    /** reconnect now */
    reconnect(args?: MethodArgs['session.reconnect'], options?: CallOptions): Promise<any>;
    /** connection state and identity */
    status(args?: MethodArgs['session.status'], options?: CallOptions): Promise<any>;
  };
}

/** Every event, by type. */
export interface Events {
  /** fields: userIds blocked */
  'blacklist.changed': {
    type: 'blacklist.changed';
    seq: number;
    userIds: any;
    blocked: any;
  };
  /** fields: conversation */
  'conversation.changed': {
    type: 'conversation.changed';
    seq: number;
    conversation: any;
  };
  /** fields: conversation */
  'conversation.deleted': {
    type: 'conversation.deleted';
    seq: number;
    conversation: any;
  };
  /** fields: conversation messageId readAt */
  'conversation.read': {
    type: 'conversation.read';
    seq: number;
    conversation: any;
    messageId: any;
    readAt: any;
  };
  /** fields: conversation pinned muted draft */
  'conversation.updated': {
    type: 'conversation.updated';
    seq: number;
    conversation: any;
    pinned: any;
    muted: any;
    draft: any;
  };
  /** fields: userId friend? */
  'friend.added': {
    type: 'friend.added';
    seq: number;
    userId: any;
    friend?: any;
  };
  /** fields: userId */
  'friend.deleted': {
    type: 'friend.deleted';
    seq: number;
    userId: any;
  };
  /** fields: userId */
  'friend.refused': {
    type: 'friend.refused';
    seq: number;
    userId: any;
  };
  /** fields: userId message */
  'friend.request': {
    type: 'friend.request';
    seq: number;
    userId: any;
    message: any;
  };
  /** fields: friend */
  'friend.updated': {
    type: 'friend.updated';
    seq: number;
    friend: any;
  };
  /** fields: group */
  'group.created': {
    type: 'group.created';
    seq: number;
    group: any;
  };
  /** fields: groupId */
  'group.dismissed': {
    type: 'group.dismissed';
    seq: number;
    groupId: any;
  };
  /** fields: groupId userId member? */
  'group.member.joined': {
    type: 'group.member.joined';
    seq: number;
    groupId: any;
    userId: any;
    member?: any;
  };
  /** fields: groupId userId by? */
  'group.member.kicked': {
    type: 'group.member.kicked';
    seq: number;
    groupId: any;
    userId: any;
    by?: any;
  };
  /** fields: groupId userId */
  'group.member.left': {
    type: 'group.member.left';
    seq: number;
    groupId: any;
    userId: any;
  };
  /** fields: groupId member */
  'group.member.muted': {
    type: 'group.member.muted';
    seq: number;
    groupId: any;
    member: any;
  };
  /** fields: groupId member */
  'group.member.role': {
    type: 'group.member.role';
    seq: number;
    groupId: any;
    member: any;
  };
  /** fields: groupId userId message */
  'group.request': {
    type: 'group.request';
    seq: number;
    groupId: any;
    userId: any;
    message: any;
  };
  /** fields: group */
  'group.updated': {
    type: 'group.updated';
    seq: number;
    group: any;
  };
  /** fields: resumeFrom (not logged: sent before a slow client is dropped) */
  'lagged': {
    type: 'lagged';
    resumeFrom: any;
  };
  /** fields: id conversation */
  'message.deleted': {
    type: 'message.deleted';
    seq: number;
    id: any;
    conversation: any;
  };
  /** fields: message */
  'message.new': {
    type: 'message.new';
    seq: number;
    message: any;
  };
  /** fields: by messageId readAt */
  'message.read': {
    type: 'message.read';
    seq: number;
    by: any;
    messageId: any;
    readAt: any;
  };
  /** fields: message */
  'message.revoked': {
    type: 'message.revoked';
    seq: number;
    message: any;
  };
  /** fields: id conversation status error? */
  'message.status': {
    type: 'message.status';
    seq: number;
    id: any;
    conversation: any;
    status: any;
    error?: any;
  };
  /** fields: message */
  'message.updated': {
    type: 'message.updated';
    seq: number;
    message: any;
  };
  /** fields: profile */
  'profile.updated': {
    type: 'profile.updated';
    seq: number;
    profile: any;
  };
  /** fields: state reason retryAt */
  'session.state': {
    type: 'session.state';
    seq: number;
    state: any;
    reason: any;
    retryAt: any;
  };
  /** fields: (not logged: the daemon is stopping) */
  'shutdown': {
    type: 'shutdown';
  };
  /** fields: count seq more */
  'sync.progress': {
    type: 'sync.progress';
    seq: number;
    count: any;
    more: any;
  };
  /** fields: total */
  'unread.changed': {
    type: 'unread.changed';
    seq: number;
    total: any;
  };
}

/** Every event type. */
export type EventType = keyof Events;

/** An event of any type. */
export type ImgwEvent = Events[EventType];

/** The error codes a call can fail with (ImgwError.code). */
export type ErrorCode =
  | 'invalid_request'
  | 'no_such_method'
  | 'bad_params'
  | 'not_found'
  | 'forbidden'
  | 'conflict'
  | 'upstream'
  | 'offline'
  | 'too_large'
  | 'busy'
  | 'internal'
  | 'unauthorized'
  | 'unsupported';
