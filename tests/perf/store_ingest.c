/*
 * store_ingest: times the store's side of ingest and search through the
 * store API, the way imgwd uses it: per message store_put_message, the
 * read-back of the announcement and an event row; per sync page the
 * cursor and a commit (WAL, synchronous FULL). Then how fast the search
 * indexes catch up (store_index_some, $INDEX_BATCH messages a commit,
 * default 256 as the daemon's idle turns); then search latency (limit 20) with the
 * indexes caught up and with TAIL messages not indexed yet. A measuring
 * tool, not a test (make store-ingest): it exits on any error.
 *
 *   store_ingest DB MESSAGES [PAGE [TAIL]]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "buf.h"
#include "rpc.h"
#include "store.h"

/* A subset of bench/gen_cache.c's words; 北京 in about 3% of messages. */
static const char *const words[] = {
	"北京", "上海", "明天", "今天", "晚上", "中午", "早上", "周末", "时间", "地方",
	"朋友", "同事", "老师", "学生", "公司", "会议", "项目", "文件", "邮件", "电话",
	"吃饭", "喝茶", "咖啡", "米饭", "面条", "水果", "蔬菜", "超市", "商场", "银行",
	"医院", "学校", "机场", "车站", "地铁", "公交", "出租", "开车", "走路", "跑步",
	"天气", "下雨", "晴天", "很冷", "很热", "刮风", "下雪", "温度", "空调", "衣服",
	"电脑", "手机", "网络", "软件", "系统", "数据", "代码", "测试", "发布", "版本",
	"问题", "答案", "方法", "结果", "原因", "计划", "安排", "准备", "开始", "结束",
	"已经", "还是", "但是", "因为", "所以", "如果", "虽然", "然后", "现在", "以后",
	"喜欢", "希望", "觉得", "知道", "认为", "需要", "应该", "可以", "不能", "一定",
	"谢谢", "你好", "再见", "抱歉", "没事", "好的", "收到", "明白", "同意", "确认",
	"电影", "音乐", "游戏", "比赛", "足球", "篮球", "旅游", "照片", "视频", "新闻",
	"家里", "房子", "租金", "搬家", "装修", "厨房", "客厅", "卧室", "阳台", "花园",
	"妈妈", "爸爸", "孩子", "哥哥", "姐姐", "弟弟", "妹妹", "爷爷", "奶奶", "亲戚",
	"生日", "礼物", "蛋糕", "聚会", "婚礼", "节日", "春节", "假期", "休息", "加班",
	"工资", "价格", "便宜", "很贵", "打折", "付款", "发票", "合同", "客户", "市场",
	"经理", "老板", "团队", "部门", "面试", "招聘", "培训", "报告", "总结", "目标",
	"健康", "医生", "感冒", "发烧", "吃药", "运动", "减肥", "睡觉", "起床", "洗澡",
	"城市", "农村", "国家", "世界", "历史", "文化", "语言", "中文", "英文", "翻译",
	"快递", "包裹", "地址", "号码", "密码", "账号", "登录", "注册", "下载", "上传",
	"一起", "马上", "慢慢", "赶紧", "小心", "注意", "记得", "忘了", "找到", "看看",
};
#define NWORDS	((int)(sizeof words / sizeof words[0]))

static uint64_t	 rng = 88172645463325252ULL;

static uint32_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 11);
}

static double
now_s(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
fail(struct store *s, const char *what)
{
	fprintf(stderr, "store_ingest: %s: %s\n", what, store_error(s));
	exit(1);
}

/* Store messages [from, to) as a sync would: one commit per page. */
/* Log a message.new event for m as events_emit does; takes m. 0 or -1. */
static int
event(struct store *s, json_t *m)
{
	static struct buf	 enc;
	int64_t			 seq = store_event_last(s) + 1;
	json_t			*e = json_pack("{s:o,s:s,s:I}", "message", m,
				    "type", "message.new", "seq", (json_int_t)seq);

	buf_reset(&enc);
	if (e == NULL || rpc_encode_value(&enc, e) == -1) {
		json_decref(e);
		return -1;
	}
	json_decref(e);
	return store_event_add(s, seq, "message.new", enc.data, enc.len);
}

static void
ingest(struct store *s, long from, long to, long page)
{
	char	 id[40], peer[8], conv[16], text[512], seq[24];
	json_t	*m, *back;
	long	 i;
	int	 k, w, len, put;

	for (i = from; i < to; i++) {
		snprintf(peer, sizeof peer, "p%04ld", (long)(rnd() % 1000));
		/* Ids in arrival order, as imserver makes them ("s<node>-<n>"). */
		snprintf(id, sizeof id, "s%x%04x-%ld", 4242u, 0xbeefu, i);
		len = 0;
		w = 3 + rnd() % 8;
		for (k = 0; k < w; k++)
			len += snprintf(text + len, sizeof text - len, "%s%s",
			    k ? (rnd() % 4 ? "" : "，") : "", words[rnd() % NWORDS]);
		if (rnd() % 1000 == 0)
			len += snprintf(text + len, sizeof text - len, "熊猫");
		snprintf(text + len, sizeof text - len, "%s",
		    rnd() % 3 ? "。" : "！");
		m = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:I}", "id", id,
		    "from", peer, "to", "me", "type", "TEXT", "content", text,
		    "status", "SENT", "createdAt", (json_int_t)(1700000000000 + i),
		    "seq", (json_int_t)(i + 1));
		snprintf(conv, sizeof conv, "u:%s", peer);
		put = store_put_message(s, conv, m);
		json_decref(m);
		if (put != STORE_INSERTED)
			fail(s, "put");
		if ((back = store_get_message(s, id)) == NULL)
			fail(s, "get");
		if (event(s, back) == -1)
			fail(s, "event");
		if (i % page == page - 1 || i == to - 1) {
			snprintf(seq, sizeof seq, "%ld", i + 1);
			if (store_set_kv(s, "sync_seq", seq) == -1 ||
			    store_flush(s) == -1)
				fail(s, "commit");
		}
	}
}

static int
cmp(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* p50 and p99 of searching q (limit 20), in ms. */
static void
search_lat(struct store *s, const char *q, const char *label)
{
	static const struct store_filter any = { NULL, NULL, 0, INT64_MAX };
	double	 t[300], t0;
	json_t	*a;
	char	*next;
	int	 i, n = 300;
	size_t	 hits = 0;

	for (i = 0; i < n; i++) {
		t0 = now_s();
		if ((a = store_search(s, q, &any, 20, NULL, &next)) == NULL)
			fail(s, "search");
		t[i] = (now_s() - t0) * 1000;
		hits = json_array_size(a);
		json_decref(a);
		free(next);
	}
	qsort(t, n, sizeof t[0], cmp);
	printf("search %-10s %s: p50 %.3f ms, p99 %.3f ms (%zu hits)\n", q,
	    label, t[n / 2], t[n * 99 / 100], hits);
}

int
main(int argc, char **argv)
{
	static const char *const qs[] = { "北京", "熊猫", "北京，", "熊猫。" };
	struct store	*s;
	char		*cause = NULL;
	long		 n, page, tail;
	double		 t0, t;
	size_t		 i;

	if (argc < 3 || (n = atol(argv[2])) < 1) {
		fprintf(stderr, "usage: store_ingest DB MESSAGES [PAGE [TAIL]]\n");
		return 2;
	}
	page = argc > 3 ? atol(argv[3]) : 500;
	tail = argc > 4 ? atol(argv[4]) : 5000;
	if ((s = store_open(argv[1], &cause)) == NULL) {
		fprintf(stderr, "store_ingest: %s\n", cause);
		return 1;
	}
	store_set_self(s, "me");
	t0 = now_s();
	ingest(s, 0, n, page);
	t = now_s() - t0;
	printf("ingest %ld messages, %ld a commit: %.2f s, %.0f msg/s\n", n, page,
	    t, n / t);
	{
		long	 k, done = 0;
		const char *b = getenv("INDEX_BATCH");
		int	 batch = b != NULL && atoi(b) > 0 ? atoi(b) : 256;

		t0 = now_s();
		while ((k = store_index_some(s, batch)) > 0) {
			done += k;
			if (store_flush(s) == -1)
				fail(s, "commit index");
		}
		if (k < 0)
			fail(s, "index");
		t = now_s() - t0;
		printf("index catch-up %ld messages, %d a commit: %.2f s, "
		    "%.0f msg/s, %.2f ms a batch\n", done, batch, t, done / t,
		    t * 1000 / ((done + batch - 1) / batch));
	}
	for (i = 0; i < sizeof qs / sizeof qs[0]; i++)
		search_lat(s, qs[i], "indexed");
	ingest(s, n, n + tail, page);
	for (i = 0; i < sizeof qs / sizeof qs[0]; i++)
		search_lat(s, qs[i], "+tail");
	store_close(s);
	return 0;
}
